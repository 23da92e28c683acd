import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Auth } from '../src/auth.ts';
import { benchAuth, benchDir, openBenchAuth } from './fixtures.ts';
import { type LoadResult, createLoad, interleave } from './load.ts';
import { CONCURRENT_CHAINS, countRotated, rotationChain } from './refresh.ts';
import { POSTGRES_URL, type Probe, probePostgres, withFreshSchema } from './servers.ts';

export interface BackendLoads {
  oneChain: LoadResult;
  manyChains: LoadResult;
}

export type RefreshBackendsResult =
  | { status: 'measured'; chains: number; sqlite: BackendLoads; postgres: BackendLoads; roundsMs: { rounds: number; sliceMs: number } }
  | { status: 'skipped'; reason: string };

/** Each of the four loads runs ROUNDS × SLICE_MS = 2.5 s in all, interleaved with the other three. */
const ROUNDS = 5;
const SLICE_MS = 500;
const WARMUP_REFRESHES = 50;
const ROTATION = { rotateRefreshTokens: true, blacklistAfterRotation: true } as const;

/**
 * The refresh workload of bench/refresh.ts (rotation + blacklist, chains) on a SQLite file and on
 * PostgreSQL (a schema of its own), 1 chain and {@link CONCURRENT_CHAINS} chains, the four loads taking
 * turns so that both databases see the same spells of a noisy machine.
 */
export async function benchRefreshBackends(postgres: Probe, log: (line: string) => void): Promise<RefreshBackendsResult> {
  if (!postgres.reachable) {
    const reason = `${postgres.url} unreachable (${postgres.reason})`;
    log(`  SKIPPED: ${reason}`);
    return { status: 'skipped', reason };
  }
  const dir = benchDir();
  try {
    const sqlite = await benchAuth(join(dir.path, 'refresh-backends.db'), ROTATION);
    try {
      return await withFreshSchema(POSTGRES_URL, async (url) => {
        const pg = await openBenchAuth(url, { settings: ROTATION, migrate: false });
        try {
          return await measure(sqlite, pg, log);
        } finally {
          await pg.close();
        }
      });
    } finally {
      await sqlite.close();
    }
  } finally {
    dir.remove();
  }
}

async function measure(sqlite: Auth, pg: Auth, log: (line: string) => void): Promise<RefreshBackendsResult> {
  const chainsOf = async (auth: Auth) => {
    const user = await auth.users.create({ username: 'refreshing-user', password: 'bench-password' });
    const chain = () => rotationChain(auth, user);
    const warm = await chain();
    for (let i = 0; i < WARMUP_REFRESHES; i++) await warm();
    return [await createLoad(1, chain), await createLoad(CONCURRENT_CHAINS, chain)] as const;
  };
  const sqliteLoads = await chainsOf(sqlite);
  const pgLoads = await chainsOf(pg);
  const before = [await countRotated(sqlite), await countRotated(pg)];
  // Alternating databases, so that neither runs twice in a row.
  await interleave([sqliteLoads[0], pgLoads[0], sqliteLoads[1], pgLoads[1]], ROUNDS, SLICE_MS);
  const loads = (pair: typeof sqliteLoads): BackendLoads => ({ oneChain: pair[0].result(), manyChains: pair[1].result() });
  const result = {
    status: 'measured' as const,
    chains: CONCURRENT_CHAINS,
    sqlite: loads(sqliteLoads),
    postgres: loads(pgLoads),
    roundsMs: { rounds: ROUNDS, sliceMs: SLICE_MS },
  };
  for (const [auth, measured, name] of [
    [sqlite, result.sqlite, 'SQLite'],
    [pg, result.postgres, 'PostgreSQL'],
  ] as const) {
    const rotated = (await countRotated(auth)) - before[auth === sqlite ? 0 : 1]!;
    const refreshes = measured.oneChain.ops + measured.manyChains.ops;
    if (rotated !== refreshes) throw new Error(`${name}: ${rotated} rotated tokens blacklisted for ${refreshes} refreshes`);
  }
  const line = (name: string, r: BackendLoads) =>
    `  ${name}: ${Math.round(r.oneChain.opsPerSecond)} refreshes/s (1 chain), ${Math.round(r.manyChains.opsPerSecond)}/s (${CONCURRENT_CHAINS} chains)`;
  log(line('SQLite', result.sqlite));
  log(line('PostgreSQL', result.postgres));
  return result;
}

// `npx tsx bench/refresh-backends.ts` runs this section alone (the figures are printed, docs/BENCHMARKS.md is left as it is).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchRefreshBackends(await probePostgres(), (line) => console.log(line));
}
