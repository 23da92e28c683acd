import { performance } from 'node:perf_hooks';
import { median, percentile } from './stats.ts';

export interface LoadResult {
  workers: number;
  ops: number;
  elapsedMs: number;
  opsPerSecond: number;
  /** Per-operation latency, queueing included (ms). */
  medianMs: number;
  p95Ms: number;
}

/** `workers` independent async loops, each awaiting one operation at a time; run in slices, summed. */
export interface Load {
  /** Runs every loop until `durationMs` has passed and the operations in flight have finished. */
  run(durationMs: number): Promise<void>;
  result(): LoadResult;
}

export async function createLoad(workers: number, makeWorker: (index: number) => Promise<() => Promise<void>>): Promise<Load> {
  const steps = await Promise.all(Array.from({ length: workers }, (_, index) => makeWorker(index)));
  const latencies: number[] = [];
  let elapsedMs = 0;
  return {
    async run(durationMs) {
      const start = performance.now();
      const deadline = start + durationMs;
      await Promise.all(
        steps.map(async (step) => {
          while (performance.now() < deadline) {
            const t0 = performance.now();
            await step();
            latencies.push(performance.now() - t0);
          }
        }),
      );
      elapsedMs += performance.now() - start;
    },
    result() {
      return {
        workers,
        ops: latencies.length,
        elapsedMs,
        opsPerSecond: (latencies.length * 1000) / elapsedMs,
        medianMs: median(latencies),
        p95Ms: percentile(latencies, 95),
      };
    },
  };
}

/**
 * Runs the loads in turns of `sliceMs`, `rounds` times, the order rotating each round, so that a slow
 * spell of the disk (fsync times on a VM drift) is shared by all of them instead of landing on one.
 */
export async function interleave(loads: readonly Load[], rounds: number, sliceMs: number): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < loads.length; k++) await loads[(round + k) % loads.length]!.run(sliceMs);
  }
}
