import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseOptions } from '@node-rs/argon2';
import { createPasswordHasher } from '../src/users/passwords.ts';
import { describeMachine } from './machine.ts';
import { type LoginTimingResult, TIMING_CLASSES, type TimingClass, timingSection } from './report-login-timing.ts';
import { resultFile, spliceSection } from './report-splice.ts';
import { seedUsers, startServe } from './serve-process.ts';
import { median, percentile } from './stats.ts';

/**
 * Login timing: does the time of a failed login tell whether the username exists?
 *
 *   npx tsx bench/login-timing.ts [--attempts 1000]
 *
 * Against a real `revocable serve` process (SQLite file, loopback, the default argon2id cost), one
 * request at a time: rounds of one attempt of each kind (a known user with a wrong password, an unknown
 * username, an inactive user with the right password) in a shuffled order. Writes
 * bench/results/login-timing.json and its section of docs/BENCHMARKS.md. At the default cost each attempt
 * takes tens of milliseconds, so 1,000 rounds take minutes: not part of `npm run bench`.
 */

const { values: args } = parseArgs({
  options: { attempts: { type: 'string', default: '1000' }, warmup: { type: 'string', default: '20' } },
});
const ATTEMPTS = Number(args.attempts);
const WARMUP = Number(args.warmup);
if (!Number.isInteger(ATTEMPTS) || ATTEMPTS < 1 || !Number.isInteger(WARMUP) || WARMUP < 0) {
  throw new Error('--attempts and --warmup must be whole numbers');
}
/** "Login timing for unknown and known users differs by less than 10% at the median." */
const THRESHOLD = 0.1;
const PASSWORD = 'the right password of both users';

const machine = describeMachine();
const loadAtStart = loadavg().map((l) => Math.round(l * 100) / 100);
console.log(`login timing: ${ATTEMPTS} rounds of 3 attempts; load average ${loadAtStart.join(' ')}`);
const dir = mkdtempSync(join(tmpdir(), 'revocable-timing-'));
const database = `sqlite:${join(dir, 'timing.db')}`;
await seedUsers(database, [
  { username: 'known', password: PASSWORD },
  { username: 'inactive', password: PASSWORD, isActive: false },
]);
const server = await startServe({
  database,
  dir,
  env: {
    REVOCABLE_LOGIN_FAILURES_PER_USERNAME: '0',
    REVOCABLE_LOGIN_FAILURES_PER_IP: '0',
    REVOCABLE_LOGIN_ATTEMPTS_PER_IP: '0',
  },
});

const credentials: Record<TimingClass, () => { username: string; password: string }> = {
  'known user, wrong password': () => ({ username: 'known', password: `wrong-${randomBytes(6).toString('hex')}` }),
  // A different name each time, as someone enumerating usernames would try.
  'unknown username': () => ({ username: `nobody-${randomBytes(6).toString('hex')}`, password: PASSWORD }),
  'inactive user, right password': () => ({ username: 'inactive', password: PASSWORD }),
};

let allRefused = true;
async function attempt(kind: TimingClass): Promise<number> {
  const body = JSON.stringify(credentials[kind]());
  const started = performance.now();
  const res = await fetch(`${server.url}/api/token/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  const elapsed = performance.now() - started;
  if (res.status !== 401 || !text.includes('No active account found with the given credentials')) {
    allRefused = false;
    console.error(`  ${kind}: ${res.status} ${text.slice(0, 200)}`);
  }
  return elapsed;
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

const times: Record<TimingClass, number[]> = Object.fromEntries(TIMING_CLASSES.map((c) => [c, []])) as unknown as Record<
  TimingClass,
  number[]
>;
const started = performance.now();
try {
  for (let round = 0; round < WARMUP + ATTEMPTS; round++) {
    for (const kind of shuffled(TIMING_CLASSES)) {
      const elapsed = await attempt(kind);
      if (round >= WARMUP) times[kind].push(elapsed);
    }
    if ((round + 1) % 250 === 0) console.log(`  ${round + 1} rounds`);
  }
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
const durationS = (performance.now() - started) / 1000;

const reference = times['known user, wrong password'];
const referenceMedian = median(reference);
const defaults = parseOptions(await (await createPasswordHasher()).hash('x'));
const result: LoginTimingResult = {
  date: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  machine,
  loadAverage: { start: loadAtStart, end: loadavg().map((l) => Math.round(l * 100) / 100) },
  hashing: {
    algorithm: 'argon2id',
    memoryCostKiB: defaults.memoryCost ?? Number.NaN,
    timeCost: defaults.timeCost ?? Number.NaN,
    parallelism: defaults.parallelism ?? Number.NaN,
  },
  attemptsPerClass: ATTEMPTS,
  warmupPerClass: WARMUP,
  durationS,
  classes: TIMING_CLASSES.map((name) => {
    const values = times[name];
    return {
      name,
      attempts: values.length,
      p10Ms: percentile(values, 10),
      p25Ms: percentile(values, 25),
      medianMs: median(values),
      p75Ms: percentile(values, 75),
      p90Ms: percentile(values, 90),
      meanMs: values.reduce((a, b) => a + b, 0) / values.length,
    };
  }),
  differences: TIMING_CLASSES.slice(1).map((name) => {
    const paired = times[name].map((value, i) => value - reference[i]!);
    return {
      name,
      ofMedians: (median(times[name]) - referenceMedian) / referenceMedian,
      pairedMedianMs: median(paired),
      pairedRelative: median(paired) / referenceMedian,
    };
  }),
  allRefused,
  acceptance: { threshold: THRESHOLD, met: false },
};
const unknown = result.differences.find((d) => d.name === 'unknown username')!;
result.acceptance.met = Math.abs(unknown.ofMedians) < THRESHOLD && allRefused;

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(resultFile('login-timing'), `${JSON.stringify(result, null, 2)}\n`);
const section = timingSection(result);
spliceSection(section);
console.log('');
console.log(section);
console.log('written to bench/results/login-timing.json and docs/BENCHMARKS.md');
if (!result.acceptance.met) process.exitCode = 1;
