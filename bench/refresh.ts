import { join } from 'node:path';
import type { Auth } from '../src/auth.ts';
import type { User } from '../src/users/users.ts';
import { benchAuth, benchDir, sqlStoreOf } from './fixtures.ts';
import { type LoadResult, createLoad, interleave } from './load.ts';

export interface RefreshBenchResult {
  refreshSequential: LoadResult;
  refreshConcurrent: LoadResult;
  loginSequential: LoadResult;
  loginConcurrent: LoadResult;
}

export const CONCURRENT_CHAINS = 8;
/** Each of the four loads runs ROUNDS × SLICE_MS = 2.5 s in all, interleaved with the others. */
const ROUNDS = 5;
const SLICE_MS = 500;
const WARMUP_REFRESHES = 50;

/**
 * Refresh with rotation (`rotateRefreshTokens`, `blacklistAfterRotation`) on a SQLite file, as chains:
 * each refresh presents the refresh token the previous one returned; and logins (`issueTokens`, no
 * password hashing). Every operation is one durable transaction. The four loads take turns.
 */
export async function benchRefresh(log: (line: string) => void): Promise<RefreshBenchResult> {
  const dir = benchDir();
  const auth = await benchAuth(join(dir.path, 'refresh.db'), { rotateRefreshTokens: true, blacklistAfterRotation: true });
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
    ] as const;
    const rotatedBefore = await countRotated(auth);
    await interleave(loads, ROUNDS, SLICE_MS);
    const [refreshSequential, refreshConcurrent, loginSequential, loginConcurrent] = loads.map((load) => load.result()) as [
      LoadResult,
      LoadResult,
      LoadResult,
      LoadResult,
    ];
    const rotated = (await countRotated(auth)) - rotatedBefore;
    if (rotated !== refreshSequential.ops + refreshConcurrent.ops) {
      throw new Error(`${rotated} rotated tokens blacklisted for ${refreshSequential.ops + refreshConcurrent.ops} refreshes`);
    }
    log(
      `  refresh: ${Math.round(refreshSequential.opsPerSecond)} ops/s (1 chain), ${Math.round(refreshConcurrent.opsPerSecond)} ops/s` +
        ` (${CONCURRENT_CHAINS} chains); login: ${Math.round(loginSequential.opsPerSecond)} ops/s (1 client),` +
        ` ${Math.round(loginConcurrent.opsPerSecond)} ops/s (${CONCURRENT_CHAINS} clients)`,
    );
    return { refreshSequential, refreshConcurrent, loginSequential, loginConcurrent };
  } finally {
    await auth.close();
    dir.remove();
  }
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
