/**
 * `npm run fuzz [-- --runs 100000] [--seed N] [--target http,decode,...] [--json file]`
 *
 * Fuzzes the token parser (decode, validateToken, a resource server's verifySync) and every route of
 * the real Fastify server (SQLite in memory) with fast-check. Prints, per target, the inputs, the
 * outcome histogram (HTTP: statuses, per route), 5xx, crashes, malformed answers and the heap after GC
 * before and after. Exits 1 on any 5xx, crash or malformed answer, or when the heap grew by more than
 * `--max-heap-growth-mb` (default 50).
 *
 * Run with --expose-gc (the npm script does) for meaningful heap figures.
 *
 * `--database postgres` runs the HTTP target on a fresh schema of REVOCABLE_TEST_POSTGRES_URL (default
 * postgres://postgres@127.0.0.1:5432/test) instead of SQLite in memory.
 */
import { writeFileSync } from 'node:fs';
import { freshPostgresSchema } from '../test/support/postgres-schema.ts';
import { httpTarget } from './http.ts';
import { decodeTarget, validateTarget, verifySyncTarget } from './parser.ts';
import { type TargetReport, formatReport, heapUsedAfterGc, runTarget } from './runner.ts';
import type { Target } from './target.ts';

/** Each target's share of `--runs`: most inputs go to the HTTP server. */
const SHARES: Record<string, number> = { decode: 0.15, validateToken: 0.15, verifySync: 0.15, http: 0.55 };

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  if (index !== -1) return process.argv[index + 1];
  const inline = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  return inline?.slice(name.length + 3);
}

async function main(): Promise<number> {
  const runs = Number(argument('runs') ?? 100_000);
  const seed = Number(argument('seed') ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0);
  const maxGrowthMb = Number(argument('max-heap-growth-mb') ?? 50);
  const only = argument('target')?.split(',');
  if (!Number.isInteger(runs) || runs <= 0 || !Number.isInteger(seed)) {
    console.error('usage: npm run fuzz -- [--runs N] [--seed N] [--target http,decode,validateToken,verifySync] [--database sqlite|postgres] [--json file]');
    return 2;
  }
  const hasGc = typeof (globalThis as { gc?: unknown }).gc === 'function';
  if (!hasGc) console.warn('warning: run with --expose-gc for heap figures after GC');

  const database = argument('database') ?? 'sqlite';
  if (database !== 'sqlite' && database !== 'postgres') {
    console.error('--database: sqlite (in memory, the default) or postgres');
    return 2;
  }
  const schema = database === 'postgres' ? await freshPostgresSchema('fuzz') : undefined;
  try {
    return await fuzz(runs, seed, maxGrowthMb, only, schema?.url);
  } finally {
    await schema?.drop();
  }
}

async function fuzz(runs: number, seed: number, maxGrowthMb: number, only: string[] | undefined, databaseUrl: string | undefined): Promise<number> {
  const hasGc = typeof (globalThis as { gc?: unknown }).gc === 'function';
  const targets = [decodeTarget(), validateTarget(), verifySyncTarget(), httpTarget(databaseUrl ? { database: databaseUrl } : {})] as unknown as Target<never>[];
  const chosen = targets.filter((target) => !only || only.includes(target.name));
  const totalShare = chosen.reduce((sum, target) => sum + (SHARES[target.name] ?? 0), 0);

  const started = new Date();
  console.log(`fuzz: ${runs} inputs, seed ${seed}, ${started.toISOString()}, node ${process.version}, HTTP on ${databaseUrl ? 'PostgreSQL' : 'SQLite in memory'}`);
  const heapStart = heapUsedAfterGc();
  const reports: TargetReport[] = [];
  for (const [i, target] of chosen.entries()) {
    const share = (SHARES[target.name] ?? 0) / totalShare;
    const targetRuns = i === chosen.length - 1 ? runs - reports.reduce((sum, r) => sum + r.inputs, 0) : Math.round(runs * share);
    // One seed per target, derived from the run's seed, so a target can be replayed alone.
    const targetSeed = (seed + i * 7919) | 0;
    process.stdout.write(`${target.name}: ${targetRuns} inputs (seed ${targetSeed})…`);
    const report = await runTarget(target, {
      runs: targetRuns,
      seed: targetSeed,
      mode: 'survey',
      onProgress: (done) => {
        if (done % 10_000 === 0) process.stdout.write(` ${done}`);
      },
    });
    process.stdout.write('\n');
    console.log(formatReport(report));
    reports.push(report);
  }
  const heapEnd = heapUsedAfterGc();
  const inputs = reports.reduce((sum, r) => sum + r.inputs, 0);
  const fiveXx = reports.reduce((sum, r) => sum + r.fiveXx, 0);
  const crashes = reports.reduce((sum, r) => sum + r.crashes, 0);
  const malformed = reports.reduce((sum, r) => sum + r.malformed, 0);
  const growthMb = (heapEnd - heapStart) / 1024 / 1024;
  const worstTargetGrowthMb = Math.max(...reports.map((r) => (r.heapAfterBytes - r.heapBeforeBytes) / 1024 / 1024));
  const seconds = (Date.now() - started.getTime()) / 1000;
  console.log(
    `\ntotal: ${inputs} inputs in ${seconds.toFixed(0)} s, seed ${seed}; 5xx ${fiveXx}, crashes ${crashes}, malformed answers ${malformed}; ` +
      `heap after GC ${(heapStart / 1048576).toFixed(1)} MB at start → ${(heapEnd / 1048576).toFixed(1)} MB at end (${growthMb >= 0 ? '+' : ''}${growthMb.toFixed(1)} MB), ` +
      `largest growth within a target ${worstTargetGrowthMb.toFixed(1)} MB; rss ${(process.memoryUsage().rss / 1048576).toFixed(0)} MB${hasGc ? '' : ' (no --expose-gc)'}`,
  );
  const json = argument('json');
  if (json) {
    writeFileSync(json, JSON.stringify({ date: started.toISOString(), seed, runs, seconds, heapStart, heapEnd, reports }, null, 2));
  }
  const memoryOk = !hasGc || Math.max(growthMb, worstTargetGrowthMb) < maxGrowthMb;
  if (!memoryOk) console.error(`heap grew by more than ${maxGrowthMb} MB`);
  return fiveXx || crashes || malformed || !memoryOk ? 1 : 0;
}

process.exitCode = await main();
