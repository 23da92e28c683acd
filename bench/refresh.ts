import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import type { Auth } from '../src/auth.ts';
import type { User } from '../src/users/users.ts';
import { benchAuth, benchDir, sqlStoreOf } from './fixtures.ts';
import { type LoadResult, createLoad, interleave } from './load.ts';

export interface RefreshBenchResult {
  refreshSequential: LoadResult;
  refreshConcurrent: LoadResult;
  loginSequential: LoadResult;
  loginConcurrent: LoadResult;
  /**
   * The floor under one chain: a transaction writing one small row to a SQLite file beside the others
   * (WAL, `synchronous = FULL`: one fsync per commit), one after another, in the same slices.
   */
  durableCommit: LoadResult;
}

export const CONCURRENT_CHAINS = 8;
/** Each of the four loads runs ROUNDS × SLICE_MS = 2.5 s in all, interleaved with the others. */
const ROUNDS = 5;
const SLICE_MS = 500;
const WARMUP_REFRESHES = 50;

/**
 * Refresh with rotation (`rotateRefreshTokens`, `blacklistAfterRotation`) on a SQLite file, as chains:
 * each refresh presents the refresh token the previous one returned; and logins (`issueTokens`, no
 * password hashing). Every login is one durable transaction; refreshes arriving in the same turn of the
 * event loop share one (group commit). The loads take turns, with the bare durable commit as the floor.
 */
export async function benchRefresh(log: (line: string) => void): Promise<RefreshBenchResult> {
  const dir = benchDir();
  const auth = await benchAuth(join(dir.path, 'refresh.db'), { rotateRefreshTokens: true, blacklistAfterRotation: true });
  const floor = durableCommits(join(dir.path, 'floor.db'));
  try {
    const user = await auth.users.create({ username: 'refreshing-user', password: 'bench-password' });
    const chain = () => rotationChain(auth, user);
    const warm = await chain();
    for (let i = 0; i < WARMUP_REFRESHES; i++) await warm();

    const login = async () => async () => {
      await auth.issueTokens(user);
    };
    const loads = [
      await createLoad(1, chain),
      await createLoad(CONCURRENT_CHAINS, chain),
      await createLoad(1, login),
      await createLoad(CONCURRENT_CHAINS, login),
      await createLoad(1, async () => floor.commit),
    ] as const;
    const rotatedBefore = await countRotated(auth);
    await interleave(loads, ROUNDS, SLICE_MS);
    const [refreshSequential, refreshConcurrent, loginSequential, loginConcurrent, durableCommit] = loads.map((load) =>
      load.result(),
    ) as [LoadResult, LoadResult, LoadResult, LoadResult, LoadResult];
    const rotated = (await countRotated(auth)) - rotatedBefore;
    if (rotated !== refreshSequential.ops + refreshConcurrent.ops) {
      throw new Error(`${rotated} rotated tokens blacklisted for ${refreshSequential.ops + refreshConcurrent.ops} refreshes`);
    }
    log(
      `  refresh: ${Math.round(refreshSequential.opsPerSecond)} ops/s (1 chain), ${Math.round(refreshConcurrent.opsPerSecond)} ops/s` +
        ` (${CONCURRENT_CHAINS} chains); login: ${Math.round(loginSequential.opsPerSecond)} ops/s (1 client),` +
        ` ${Math.round(loginConcurrent.opsPerSecond)} ops/s (${CONCURRENT_CHAINS} clients); bare durable commit:` +
        ` ${Math.round(durableCommit.opsPerSecond)}/s (median ${durableCommit.medianMs.toFixed(3)} ms)`,
    );
    return { refreshSequential, refreshConcurrent, loginSequential, loginConcurrent, durableCommit };
  } finally {
    floor.close();
    await auth.close();
    dir.remove();
  }
}

/** One-row transactions on their own SQLite file, opened as the store opens its own: each commit is one fsync. */
function durableCommits(file: string): { commit(): Promise<void>; close(): void } {
  const database = new Database(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.exec('create table commits (id integer primary key, at_ms integer not null)');
  const begin = database.prepare('begin immediate');
  const insert = database.prepare('insert into commits (at_ms) values (?)');
  const commit = database.prepare('commit');
  return {
    async commit() {
      begin.run();
      insert.run(Date.now());
      commit.run();
    },
    close: () => database.close(),
  };
}

/**
 * One refresh chain of `user`: logs in once, then each call presents the refresh token the previous one
 * returned (rotation must be on).
 */
export async function rotationChain(auth: Auth, user: Pick<User, 'id' | 'username'>): Promise<() => Promise<void>> {
  let token = (await auth.issueTokens(user)).refresh;
  return async () => {
    const next = await auth.refresh(token);
    if (!next.refresh) throw new Error('rotation returned no refresh token');
    token = next.refresh;
  };
}

/** Rotated-and-blacklisted tokens so far: one per successful refresh. */
export async function countRotated(auth: Auth): Promise<number> {
  const row = await sqlStoreOf(auth)
    .db.selectFrom('blacklisted_tokens')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('reason', '=', 'rotated')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

// `npx tsx bench/refresh.ts` runs this section alone (the figures are printed, docs/BENCHMARKS.md is left as it is).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await benchRefresh((line) => console.log(line));
  for (const [name, load] of Object.entries(result)) {
    console.log(
      `  ${name}: ${Math.round(load.opsPerSecond)} ops/s, median ${load.medianMs.toFixed(3)} ms, p95 ${load.p95Ms.toFixed(3)} ms, ${load.ops} operations`,
    );
  }
}
