/**
 * The fuzzer (fuzz/, `npm run fuzz`) in small: 2,000 seeded inputs per target. Each target must answer
 * every input without a 5xx, a thrown error or a malformed answer; on a failure fast-check shrinks the
 * input to a small counterexample, printed in the message.
 */
import { describe, expect, it } from 'vitest';
import { httpTarget } from '../fuzz/http.ts';
import { decodeTarget, validateTarget, verifySyncTarget } from '../fuzz/parser.ts';
import { formatReport, runTarget } from '../fuzz/runner.ts';
import type { Target } from '../fuzz/target.ts';

const RUNS = Number(process.env.REVOCABLE_FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.REVOCABLE_FUZZ_SEED ?? 20261129);

const targets: [string, () => Target<never>][] = [
  ['decode', () => decodeTarget() as unknown as Target<never>],
  ['validateToken', () => validateTarget() as unknown as Target<never>],
  ['verifySync', () => verifySyncTarget() as unknown as Target<never>],
  ['http', () => httpTarget() as unknown as Target<never>],
];

describe(`fuzzing, ${RUNS} inputs per target (seed ${SEED})`, () => {
  it.each(targets)('%s: no 5xx, no crash, every answer in the documented shape', async (_name, make) => {
    const report = await runTarget(make(), { runs: RUNS, seed: SEED, mode: 'assert' });
    const text = formatReport(report);
    expect(report.counterexample, text).toBeUndefined();
    expect({ fiveXx: report.fiveXx, crashes: report.crashes, malformed: report.malformed }, text).toEqual({ fiveXx: 0, crashes: 0, malformed: 0 });
    expect(report.inputs).toBe(RUNS);
  }, 120_000);
});
