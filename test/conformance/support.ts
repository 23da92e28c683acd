import { randomBytes } from 'node:crypto';
import type { Auth } from '../../src/auth.ts';
import { TokenRevokedError } from '../../src/errors.ts';
import type { OutstandingToken, RefreshOutcome } from '../../src/store/records.ts';
import { outstandingRow } from '../../src/store/sql/rows.ts';
import { SqlStore } from '../../src/store/sql/sql-store.ts';
import type { NewSession, RefreshRequest, Store } from '../../src/store/store.ts';
import type { TestDatabase, TestDatabaseKind } from '../support/databases.ts';

/**
 * What the store conformance modules (test/conformance/store/*.ts) share: the helpers and times their
 * tests are written with, and the context that hands them the one store set up per database.
 */

/**
 * The store under test, its database and their kind. `store` and `database` exist once the suite's
 * beforeAll has run: read them inside a test or a hook, never while the tests are being defined.
 */
export interface StoreContext {
  readonly kind: TestDatabaseKind;
  readonly database: TestDatabase;
  readonly store: Store;
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const DAY = 24 * 60 * MINUTE;
/** The longest token lifetime (plus leeway) the store-level tests pretend to have. */
export const HORIZON = DAY;
/** A whole second: store-level tests run at and after it. */
export const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);

let counter = 0;
/** A name no other test (nor an earlier run on a kept database) uses. */
export const unique = (prefix: string) => `${prefix}-${++counter}-${randomBytes(4).toString('hex')}`;

/** A store that an Auth may "close" without closing it: the shared store outlives every Auth. */
export function borrowed(store: Store): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'close') return async () => {};
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export interface Login {
  userId: string;
  sessionId: string;
  jti: string;
  generation: number;
  expiresAtMs: number;
}

/** Starts a session for `userId` at `atMs`, the way a login does. */
export async function login(
  store: Store,
  userId: string,
  atMs: number,
  options: { expiresAtMs?: number; userAgent?: string | null; ip?: string | null } = {},
): Promise<Login> {
  const sessionId = unique('s');
  const jti = unique('j');
  const expiresAtMs = options.expiresAtMs ?? atMs + DAY;
  const session: NewSession = {
    id: sessionId,
    userId,
    createdAtMs: atMs,
    expiresAtMs,
    userAgent: options.userAgent ?? null,
    ip: options.ip ?? null,
  };
  const started = await store.startSession(session, { jti, userId, sessionId, tokenType: 'refresh', issuedAtMs: atMs, expiresAtMs });
  if (!started) throw new Error('startSession refused a login without a guard');
  return { userId, sessionId, jti, generation: started.generation, expiresAtMs };
}

/** The request presenting a token that `login` (or a rotation) handed out. */
export function present(
  token: Pick<Login, 'userId' | 'sessionId' | 'jti' | 'generation' | 'expiresAtMs'>,
  nowMs: number,
  overrides: Partial<RefreshRequest> = {},
): RefreshRequest {
  return {
    jti: token.jti,
    userId: token.userId,
    sessionId: token.sessionId,
    generation: token.generation,
    issuedAtMs: nowMs - MINUTE,
    expiresAtMs: token.expiresAtMs,
    nowMs,
    acceptUntracked: false,
    reuse: { graceMs: 0, horizonMs: HORIZON },
    mintsUntilMs: nowMs + 5 * MINUTE,
    sessionMaxLifetimeMs: null,
    ...overrides,
  };
}

/** Presents `token` with rotation on; answers the outcome and the successor token. */
export async function rotate(store: Store, token: Login, nowMs: number, overrides: Partial<RefreshRequest> = {}) {
  const next: Login = { ...token, jti: unique('j'), expiresAtMs: nowMs + DAY };
  const outcome = await store.useRefreshToken(
    present(token, nowMs, {
      rotate: {
        next: {
          jti: next.jti,
          userId: token.userId,
          sessionId: token.sessionId,
          tokenType: 'refresh',
          issuedAtMs: nowMs,
          expiresAtMs: next.expiresAtMs,
        },
        blacklistOld: false,
      },
      ...overrides,
    }),
  );
  return { outcome, next };
}

export function statuses(outcomes: RefreshOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key = outcome.status === 'reused' ? `reused/${outcome.sessionRevoked ? 'revoked session' : 'forgiven'}` : outcome.status;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Log entries about one user (the shared database holds every test's). */
export async function logOf(store: Store, userId: string, nowMs: number, afterSeq = 0, horizonMs = HORIZON) {
  return (await store.loadRevocations(nowMs, afterSeq, horizonMs)).filter((entry) => entry.userId === userId);
}

export { accepted } from '../helpers.ts';

export function revokedLevel(auth: Auth, access: string): string | undefined {
  try {
    auth.verifyAccess(access);
    return undefined;
  } catch (error) {
    if (error instanceof TokenRevokedError) return error.level;
    throw error;
  }
}

/**
 * Writes outstanding-token rows in bulk, under the Store interface: thousands of logins one by one would
 * make the suite slow on PGlite. A store that is not a SqlStore needs a bulk path of its own here.
 */
export async function seedTokens(store: Store, tokens: OutstandingToken[]): Promise<void> {
  if (!(store instanceof SqlStore)) throw new Error('seedTokens: no bulk insert for this store yet');
  for (let start = 0; start < tokens.length; start += 500) {
    await store.db
      .insertInto('outstanding_tokens')
      .values(tokens.slice(start, start + 500).map(outstandingRow))
      .execute();
  }
}

/** Runs the bookkeeping after a revoke-all to its end, the way the library does; answers every step. */
export async function markAll(store: Store, userId: string, generation: number, nowMs: number, limit: number) {
  const steps: { marked: number; afterJti: string | null; done: boolean }[] = [];
  let afterJti: string | null = '';
  for (let i = 0; i < 50; i++) {
    const step = await store.markUserTokensBlacklisted(userId, generation, 'revoke_all', nowMs, { afterJti, limit });
    steps.push(step);
    if (step.done) return steps;
    afterJti = step.afterJti;
  }
  throw new Error(`markUserTokensBlacklisted did not finish: ${JSON.stringify(steps.slice(-3))}`);
}
