import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import { buildServer } from '../src/http/fastify.ts';
import type { Database } from '../src/store/sql/schema.ts';
import { benchAuth, benchDir, sqlStoreOf } from './fixtures.ts';
import { watchEventLoop } from './loop-watch.ts';
import { reviveOutstanding, seedOutstanding } from './seed.ts';
import { median, percentile } from './stats.ts';

export interface RevokeAllResult {
  n: number;
  repetitions: number;
  /** `await auth.revokeAllForUser()`: the acknowledged, durable revocation (ms). */
  ack: number[];
  /** `await auth.settled()` right after it: the deferred set-based blacklisting (ms). */
  sweep: number[];
  /** Longest event-loop stall seen during ack + sweep (ms). */
  stall: number[];
  /** `POST /api/logout-all/` through the Fastify server (`app.inject`): the answer a client waits for (ms). */
  httpAck: number[];
  /** `await auth.settled()` right after that answer (ms). */
  httpSweep: number[];
  /** Simple JWT-style eager blacklisting, a query pair per outstanding row (ms); empty when skipped. */
  perRow: number[];
}

export interface RevokeAllPlan {
  n: number;
  repetitions: number;
  httpRepetitions: number;
  perRowRepetitions: number;
}

export const REVOKE_ALL_PLANS: RevokeAllPlan[] = [
  { n: 100, repetitions: 21, httpRepetitions: 11, perRowRepetitions: 5 },
  { n: 1_000, repetitions: 15, httpRepetitions: 9, perRowRepetitions: 5 },
  { n: 10_000, repetitions: 11, httpRepetitions: 7, perRowRepetitions: 3 },
  { n: 100_000, repetitions: 7, httpRepetitions: 5, perRowRepetitions: 1 },
];

/**
 * Revoke-all of one user holding `n` outstanding refresh tokens (and `n` sessions), on a SQLite file
 * (WAL, synchronous = FULL). Before each repetition the user's rows are put back to live and the WAL is
 * checkpointed; the previous sweep has always finished (`settled()`), so repetitions do not overlap.
 */
export async function benchRevokeAll(plan: RevokeAllPlan, log: (line: string) => void): Promise<RevokeAllResult> {
  const dir = benchDir();
  const auth = await benchAuth(join(dir.path, 'revoke-all.db'));
  const db = sqlStoreOf(auth).db;
  const app = await buildServer(auth);
  const result: RevokeAllResult = {
    n: plan.n,
    repetitions: plan.repetitions,
    ack: [],
    sweep: [],
    stall: [],
    httpAck: [],
    httpSweep: [],
    perRow: [],
  };
  try {
    const user = await auth.users.create({ username: 'revoked-user', password: 'bench-password' });
    const userId = String(user.id);
    // A few other users' rows, so the statements have to pick this user's rows out of a shared table.
    for (let other = 0; other < 3; other++) await seedOutstanding(db, `other-${other}`, 1000, 0);
    await seedOutstanding(db, userId, plan.n, 0);
    let generation = 0;

    // One unmeasured warm-up: first statement preparation, page cache.
    generation = (await auth.revokeAllForUser(user.id)).generation;
    await auth.settled();

    for (let rep = 0; rep < plan.repetitions; rep++) {
      await reviveOutstanding(db, userId, generation);
      const loop = watchEventLoop();
      const t0 = performance.now();
      generation = (await auth.revokeAllForUser(user.id)).generation;
      const t1 = performance.now();
      await auth.settled();
      const t2 = performance.now();
      result.stall.push(await loop.stop());
      result.ack.push(t1 - t0);
      result.sweep.push(t2 - t1);
      await expectSwept(db, userId, plan.n);
    }

    for (let rep = 0; rep < plan.httpRepetitions; rep++) {
      await reviveOutstanding(db, userId, generation);
      const { access } = await auth.issueTokens(user);
      const t0 = performance.now();
      const response = await app.inject({
        method: 'POST',
        url: '/api/logout-all/',
        headers: { authorization: `Bearer ${access}` },
      });
      const t1 = performance.now();
      await auth.settled();
      const t2 = performance.now();
      if (response.statusCode >= 300) throw new Error(`POST /api/logout-all/ answered ${response.statusCode}: ${response.body}`);
      generation++;
      result.httpAck.push(t1 - t0);
      result.httpSweep.push(t2 - t1);
      await expectSwept(db, userId, plan.n);
    }

    for (let rep = 0; rep < plan.perRowRepetitions; rep++) {
      await reviveOutstanding(db, userId, generation);
      const t0 = performance.now();
      const marked = await blacklistRowByRow(db, userId, Date.now());
      result.perRow.push(performance.now() - t0);
      if (marked < plan.n) throw new Error(`per-row baseline blacklisted ${marked} rows, expected ${plan.n}`);
    }
    log(
      `  N=${plan.n}: ack median ${median(result.ack).toFixed(2)} ms p95 ${percentile(result.ack, 95).toFixed(2)} ms;` +
        ` sweep median ${median(result.sweep).toFixed(1)} ms; HTTP answer median ${median(result.httpAck).toFixed(2)} ms`,
    );
    return result;
  } finally {
    await app.close();
    await auth.close();
    dir.remove();
  }
}

/**
 * Checks (outside the timing) that the sweep really blacklisted every outstanding token of the user
 * (at least `n`: the HTTP repetitions add one login each) and revoked every session.
 */
async function expectSwept(db: Kysely<Database>, userId: string, n: number): Promise<void> {
  const row = await db
    .selectFrom('blacklisted_tokens')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  if (Number(row.count) < n) throw new Error(`sweep blacklisted ${row.count} tokens, expected ${n}`);
  const live = await db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('user_id', '=', userId)
    .where('revoked_at_ms', 'is', null)
    .executeTakeFirstOrThrow();
  if (Number(live.count) !== 0) throw new Error(`sweep left ${live.count} sessions live`);
}

/**
 * The alternative: what a Simple JWT project does to log a user out everywhere
 * (`for t in OutstandingToken.objects.filter(user=u): BlacklistedToken.objects.get_or_create(token=t)`),
 * in one transaction, synchronously, before answering. Returns how many rows it blacklisted.
 */
async function blacklistRowByRow(db: Kysely<Database>, userId: string, nowMs: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('outstanding_tokens')
      .select(['jti', 'expires_at_ms'])
      .where('user_id', '=', userId)
      .execute();
    let inserted = 0;
    for (const row of rows) {
      const existing = await trx.selectFrom('blacklisted_tokens').select('jti').where('jti', '=', row.jti).executeTakeFirst();
      if (existing) continue;
      await trx
        .insertInto('blacklisted_tokens')
        .values({ jti: row.jti, user_id: userId, expires_at_ms: row.expires_at_ms, blacklisted_at_ms: nowMs, reason: 'bench' })
        .execute();
      inserted++;
    }
    return inserted;
  });
}
