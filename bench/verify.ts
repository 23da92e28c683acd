import jsonwebtoken from 'jsonwebtoken';
import type { Auth } from '../src/auth.ts';
import { BENCH_KEY, benchAuth } from './fixtures.ts';
import { expectLibrariesAccept, hs256Libraries, libraryContenders } from './libraries.ts';
import { createRawHs256Verifier } from './raw-hmac.ts';
import { type Throughput, compareThroughputAsync, pairedRatio } from './throughput.ts';

export interface VerifyResult {
  /** Live revocation entries the cache was loaded with, by level. */
  cache: { users: number; sessions: number; tokens: number };
  verifyAccess: Throughput;
  raw: Throughput;
  fastJwt: Throughput;
  jsonwebtoken: Throughput;
  /**
   * jsonwebtoken given the secret as a string, as passport-jwt's README does: it first tries to parse the
   * string as a public key (OpenSSL), on every call.
   */
  jsonwebtokenStringSecret: Throughput;
  /** jose's `jwtVerify`, awaited call after call. */
  jose: Throughput;
  /** The raw verifier called through an `async` function and awaited: what one `await` costs by itself. */
  rawAwaited: Throughput;
  /** verifyAccess / raw and fast-jwt / raw, paired per round. */
  verifyOverRaw: number;
  fastJwtOverRaw: number;
  /** jsonwebtoken / raw, jose / raw, raw awaited / raw, verifyAccess / jose: paired per round. */
  jsonwebtokenOverRaw: number;
  jsonwebtokenStringSecretOverRaw: number;
  joseOverRaw: number;
  rawAwaitedOverRaw: number;
  verifyOverJose: number;
  rounds: number;
  sliceMs: number;
  warmupMs: number;
}

const REVOKED_USERS = 1000;
const REVOKED_SESSIONS = 1000;
const BLACKLISTED_TOKENS = 1000;
const ROUNDS = 10;
const SLICE_MS = 150;
const WARMUP_MS = 300;

/**
 * `auth.verifyAccess` of one valid access token against a revocation cache holding thousands of
 * entries, next to raw `node:crypto` HS256, fast-jwt's verifier alone, jsonwebtoken and jose (awaited
 * call after call; beside it the raw verifier awaited the same way, the cost of the `await` itself). The token's own user has a
 * past revoke-all, so every level of the predicate is looked up (the token, its session, its user's
 * generation). Verification does no I/O, so an in-memory database serves.
 */
export async function benchVerify(log: (line: string) => void): Promise<VerifyResult> {
  const auth = await benchAuth(':memory:');
  try {
    const { cache } = await fillRevocationCache(auth);
    const user = await auth.users.create({ username: 'verified-user', password: 'bench-password' });
    await auth.revokeAllForUser(user.id);
    await auth.settled();
    const { access } = await auth.issueTokens(user);

    const raw = createRawHs256Verifier(BENCH_KEY);
    const libraries = await hs256Libraries(BENCH_KEY);
    // Every contender accepts the very same token before any timing.
    for (const verify of [auth.verifyAccess, raw] as const) {
      const claims = verify(access) as Record<string, unknown>;
      if (claims.user_id !== user.id) throw new Error('a verifier returned the wrong claims');
    }
    await expectLibrariesAccept(libraries, access, user.id);
    const lib = libraryContenders(libraries, access);

    const [verifyAccess, rawResult, fastJwtResult, jsonwebtokenResult, joseResult, rawAwaited, stringSecret] = (await compareThroughputAsync(
      [
        { name: 'auth.verifyAccess', op: () => auth.verifyAccess(access) },
        { name: 'raw node:crypto HS256', op: () => raw(access) },
        lib.fastJwt,
        lib.jsonwebtoken!,
        lib.jose,
        { name: 'raw node:crypto HS256, awaited', async: true, op: async () => raw(access) },
        {
          name: 'jsonwebtoken `verify`, secret as a string',
          op: () => jsonwebtoken.verify(access, BENCH_KEY, { algorithms: ['HS256'] }),
        },
      ],
      { warmupMs: WARMUP_MS, rounds: ROUNDS, sliceMs: SLICE_MS },
    )) as [Throughput, Throughput, Throughput, Throughput, Throughput, Throughput, Throughput];
    const result: VerifyResult = {
      cache,
      verifyAccess,
      raw: rawResult,
      fastJwt: fastJwtResult,
      jsonwebtoken: jsonwebtokenResult,
      jsonwebtokenStringSecret: stringSecret,
      jose: joseResult,
      rawAwaited,
      verifyOverRaw: pairedRatio(verifyAccess, rawResult),
      fastJwtOverRaw: pairedRatio(fastJwtResult, rawResult),
      jsonwebtokenOverRaw: pairedRatio(jsonwebtokenResult, rawResult),
      jsonwebtokenStringSecretOverRaw: pairedRatio(stringSecret, rawResult),
      joseOverRaw: pairedRatio(joseResult, rawResult),
      rawAwaitedOverRaw: pairedRatio(rawAwaited, rawResult),
      verifyOverJose: pairedRatio(verifyAccess, joseResult),
      rounds: ROUNDS,
      sliceMs: SLICE_MS,
      warmupMs: WARMUP_MS,
    };
    log(
      `  verifyAccess ${Math.round(result.verifyAccess.median)} ops/s, raw ${Math.round(result.raw.median)} ops/s,` +
        ` fast-jwt ${Math.round(result.fastJwt.median)}, jsonwebtoken ${Math.round(result.jsonwebtoken.median)},` +
        ` jose ${Math.round(result.jose.median)} ops/s; verifyAccess/raw ${result.verifyOverRaw.toFixed(2)},` +
        ` verifyAccess/jose ${result.verifyOverJose.toFixed(1)}`,
    );
    return result;
  } finally {
    await auth.close();
  }
}

/** What {@link fillRevocationCache} left in the revocation log. */
export interface FilledCache {
  /** Live log entries by level (what a cache following the log holds). */
  cache: VerifyResult['cache'];
  /** Access tokens that must now be refused: one whose refresh token was blacklisted, one of a revoked session. */
  revoked: string[];
}

/**
 * Revokes other users, sessions and tokens through the public API, then checks that a token of each
 * kind is refused, and returns the live log entries by level (what the cache holds).
 */
export async function fillRevocationCache(auth: Auth): Promise<FilledCache> {
  for (let i = 0; i < REVOKED_USERS; i++) await auth.revokeAllForUser(1_000_000 + i);
  const other = await auth.users.create({ username: 'other-user', password: 'bench-password' });
  const logins = [];
  for (let i = 0; i < REVOKED_SESSIONS + BLACKLISTED_TOKENS; i++) logins.push(await auth.issueTokens(other));
  for (const login of logins.slice(0, BLACKLISTED_TOKENS)) await auth.blacklist(login.refresh);
  for (const login of logins.slice(BLACKLISTED_TOKENS)) {
    await auth.revokeSession(String(decodePayload(login.access).sid));
  }
  await auth.settled();
  const revoked = [logins[0]!.access, logins.at(-1)!.access];
  for (const access of revoked) {
    let refused = false;
    try {
      auth.verifyAccess(access);
    } catch {
      refused = true;
    }
    if (!refused) throw new Error('a revoked access token was accepted');
  }
  const entries = await auth.store.loadRevocations(Date.now(), 0, 86_400_000);
  const count = (kind: string) => entries.filter((entry) => entry.kind === kind).length;
  return { cache: { users: count('user'), sessions: count('session'), tokens: count('token') }, revoked };
}

function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
}
