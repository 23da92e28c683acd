import { performance } from 'node:perf_hooks';
import { median } from './stats.ts';

/** A synchronous operation to count; what it returns is folded into a sink so it cannot be optimised away. */
export interface Contender {
  name: string;
  op(): unknown;
}

/**
 * An asynchronous operation (a library whose API only returns a promise, such as jose's `jwtVerify`):
 * awaited one call at a time, so a figure is calls completed one after another, as a request handler
 * that awaits it makes them.
 */
export interface AsyncContender {
  name: string;
  async: true;
  op(): Promise<unknown>;
}

export interface ThroughputOptions {
  /** Unmeasured running time per contender before the first round (ms). */
  warmupMs: number;
  /** Rounds; every round runs every contender once, in a rotated order. */
  rounds: number;
  /** Running time per contender per round (ms). */
  sliceMs: number;
}

export interface Throughput {
  name: string;
  /** ops/s of each round, in round order. */
  rounds: number[];
  median: number;
}

/** Calls between two clock reads: small next to a slice, large next to `performance.now()`. */
const BATCH = 512;

let sink = 0;

function runFor(contender: Contender, durationMs: number): number {
  const start = performance.now();
  const deadline = start + durationMs;
  let ops = 0;
  let now = start;
  do {
    for (let i = 0; i < BATCH; i++) if (contender.op()) sink++;
    ops += BATCH;
    now = performance.now();
  } while (now < deadline);
  return (ops * 1000) / (now - start);
}

async function runForAsync(contender: AsyncContender, durationMs: number): Promise<number> {
  const start = performance.now();
  const deadline = start + durationMs;
  let ops = 0;
  let now = start;
  do {
    // Sequential awaits: the next call starts when the previous one has resolved.
    for (let i = 0; i < BATCH; i++) if (await contender.op()) sink++;
    ops += BATCH;
    now = performance.now();
  } while (now < deadline);
  return (ops * 1000) / (now - start);
}

const runAny = (contender: Contender | AsyncContender, durationMs: number): number | Promise<number> =>
  'async' in contender ? runForAsync(contender, durationMs) : runFor(contender, durationMs);

/**
 * {@link compareThroughput} with asynchronous contenders among the synchronous ones: the synchronous
 * ones run exactly as there (no `await` between their calls), the asynchronous ones with one `await`
 * per call, in the same interleaved rounds.
 */
export async function compareThroughputAsync(
  contenders: readonly (Contender | AsyncContender)[],
  options: ThroughputOptions,
): Promise<Throughput[]> {
  for (const contender of contenders) await runAny(contender, options.warmupMs);
  const perRound = contenders.map(() => [] as number[]);
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const index = (round + k) % contenders.length;
      perRound[index]!.push(await runAny(contenders[index]!, options.sliceMs));
    }
  }
  if (sink < 0) console.log(sink);
  return contenders.map((contender, index) => ({
    name: contender.name,
    rounds: perRound[index]!,
    median: median(perRound[index]!),
  }));
}

/**
 * Time-boxed, interleaved throughput: contenders take turns in short slices, the order rotating each
 * round, so a noisy neighbour or a frequency change on a small machine hits them all alike. The figure
 * is the median of the rounds.
 */
export function compareThroughput(contenders: readonly Contender[], options: ThroughputOptions): Throughput[] {
  for (const contender of contenders) runFor(contender, options.warmupMs);
  const perRound = contenders.map(() => [] as number[]);
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const index = (round + k) % contenders.length;
      perRound[index]!.push(runFor(contenders[index]!, options.sliceMs));
    }
  }
  if (sink < 0) console.log(sink);
  return contenders.map((contender, index) => ({
    name: contender.name,
    rounds: perRound[index]!,
    median: median(perRound[index]!),
  }));
}

/** The median over rounds of `a / b` measured in the same round: robust to drift between rounds. */
export function pairedRatio(a: Throughput, b: Throughput): number {
  return median(a.rounds.map((value, round) => value / b.rounds[round]!));
}
