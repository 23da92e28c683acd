/**
 * Runs fuzz targets with fast-check and keeps the figures: inputs, outcome histogram, problems, crashes,
 * and the heap before and after (after a full GC when `global.gc` is there: node --expose-gc).
 */
import fc from 'fast-check';
import type { Outcome, Target } from './target.ts';

export interface Problem {
  target: string;
  input: unknown;
  problem: string;
}

export interface TargetReport {
  target: string;
  inputs: number;
  /** Outcome label → count (HTTP: status codes). */
  outcomes: Record<string, number>;
  /** Group → label → count (HTTP: per route). */
  groups: Record<string, Record<string, number>>;
  fiveXx: number;
  crashes: number;
  /** Every other broken property (a malformed answer). */
  malformed: number;
  problems: Problem[];
  heapBeforeBytes: number;
  heapAfterBytes: number;
  durationMs: number;
  /** fast-check's counterexample, shrunk, in assert mode. */
  counterexample?: string;
}

export interface RunOptions {
  runs: number;
  seed: number;
  /**
   * `survey`: run every input and record each problem (the CLI). `assert`: stop at the first problem and
   * let fast-check shrink it to a minimal counterexample (the vitest test).
   */
  mode: 'survey' | 'assert';
  /** Problems kept in full (the first ones). */
  keepProblems?: number;
  onProgress?: (done: number) => void;
}

/** Heap in use after a full collection, when the process exposes `gc`. */
export function heapUsedAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** Errors that escape every handler while a target runs (they would crash a server): each is a crash. */
export function watchUncaught(): { errors: string[]; stop(): void } {
  const errors: string[] = [];
  const onError = (error: unknown) => errors.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  return {
    errors,
    stop() {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
    },
  };
}

export async function runTarget<T>(target: Target<T>, options: RunOptions): Promise<TargetReport> {
  const keep = options.keepProblems ?? 20;
  const report: TargetReport = {
    target: target.name,
    inputs: 0,
    outcomes: {},
    groups: {},
    fiveXx: 0,
    crashes: 0,
    malformed: 0,
    problems: [],
    heapBeforeBytes: 0,
    heapAfterBytes: 0,
    durationMs: 0,
  };
  await target.setup?.();
  const uncaught = watchUncaught();
  report.heapBeforeBytes = heapUsedAfterGc();
  const started = performance.now();
  const record = (input: T, outcome: Outcome) => {
    report.inputs++;
    report.outcomes[outcome.label] = (report.outcomes[outcome.label] ?? 0) + 1;
    if (outcome.group !== undefined) {
      const group = report.groups[outcome.group] ?? {};
      report.groups[outcome.group] = group;
      group[outcome.label] = (group[outcome.label] ?? 0) + 1;
    }
    if (outcome.problem === undefined) return;
    if (/^5\d\d$/.test(outcome.label)) report.fiveXx++;
    else if (outcome.label === 'CRASH' || outcome.label === 'HANG') report.crashes++;
    else report.malformed++;
    if (report.problems.length < keep) {
      let described: unknown;
      try {
        described = target.describe(input);
      } catch (error) {
        described = `(cannot describe: ${(error as Error).message})`;
      }
      report.problems.push({ target: target.name, input: described, problem: outcome.problem });
    }
  };
  try {
    const property = fc.asyncProperty(target.arbitrary, async (input) => {
      if (target.every && report.inputs > 0 && report.inputs % target.every.inputs === 0) await target.every.run();
      let outcome: Outcome;
      try {
        outcome = await target.run(input);
      } catch (error) {
        outcome = { label: 'CRASH', problem: `the target threw ${(error as Error)?.stack ?? String(error)}` };
      }
      record(input, outcome);
      // app.inject answers without touching the event loop's I/O phases: without a turn of the loop, the
      // setImmediate callbacks that free each request (and the revocation poll's timer) would never run.
      await new Promise((resolve) => setImmediate(resolve));
      if (report.inputs % 1000 === 0) options.onProgress?.(report.inputs);
      if (options.mode === 'assert' && outcome.problem !== undefined) throw new Error(outcome.problem);
      if (options.mode === 'assert' && uncaught.errors.length) throw new Error(`uncaught: ${uncaught.errors[0]}`);
      return true;
    });
    const details = await fc.check(property, { numRuns: options.runs, seed: options.seed, endOnFailure: options.mode === 'survey' });
    if (details.failed) {
      report.counterexample = `${fc.stringify(details.counterexample)}\n${details.errorInstance instanceof Error ? details.errorInstance.message : ''}`;
    }
    // Let timers and stray promises of the last inputs settle before the heap is measured.
    await new Promise((resolve) => setTimeout(resolve, 50));
    report.durationMs = performance.now() - started;
    report.heapAfterBytes = heapUsedAfterGc();
  } finally {
    uncaught.stop();
    for (const error of uncaught.errors) {
      report.crashes++;
      if (report.problems.length < keep) report.problems.push({ target: target.name, input: '(uncaught)', problem: error });
    }
    await target.teardown?.();
  }
  return report;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** A report as text: counts, the histogram, heap, and the problems. */
export function formatReport(report: TargetReport): string {
  const lines = [
    `${report.target}: ${report.inputs} inputs in ${(report.durationMs / 1000).toFixed(1)} s; 5xx ${report.fiveXx}, crashes ${report.crashes}, malformed answers ${report.malformed}; heap ${mb(report.heapBeforeBytes)} → ${mb(report.heapAfterBytes)} (${report.heapAfterBytes >= report.heapBeforeBytes ? '+' : ''}${mb(report.heapAfterBytes - report.heapBeforeBytes)})`,
  ];
  const sorted = Object.entries(report.outcomes).sort((a, b) => b[1] - a[1]);
  lines.push(`  outcomes: ${sorted.map(([label, count]) => `${label} ${count}`).join(', ')}`);
  for (const [group, outcomes] of Object.entries(report.groups).sort()) {
    const byCount = Object.entries(outcomes).sort((a, b) => b[1] - a[1]);
    lines.push(`  ${group}: ${byCount.map(([label, count]) => `${label} ${count}`).join(', ')}`);
  }
  for (const problem of report.problems) {
    lines.push(`  PROBLEM ${problem.problem}`);
    lines.push(`    input: ${JSON.stringify(problem.input)?.slice(0, 3000)}`);
  }
  if (report.counterexample) lines.push(`  counterexample: ${report.counterexample.slice(0, 3000)}`);
  return lines.join('\n');
}
