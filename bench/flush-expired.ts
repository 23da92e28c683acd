import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Kysely, sql } from 'kysely';
import type { Auth } from '../src/auth.ts';
import type { Database } from '../src/store/sql/schema.ts';
import { DEFAULT_FLUSH_BATCH_SIZE, type FlushCounts } from '../src/store/store.ts';
import { benchAuth, benchDir, openBenchAuth, sqlStoreOf } from './fixtures.ts';
import { watchEventLoop } from './loop-watch.ts';
import { checkpoint } from './seed.ts';
import { type Probe, withFreshSchema } from './servers.ts';
import { max, percentile } from './stats.ts';

/** Rows seeded: expired ones per table, and live logins (a session and a token each) to be left alone. */
export interface FlushSeed extends FlushCounts {
  live: number;
}

/**
 * Expired outstanding tokens seeded on SQLite: `REVOCABLE_BENCH_FLUSH_ROWS`, 250,000 by default so that the
 * whole suite stays under five minutes; `REVOCABLE_BENCH_FLUSH_ROWS=1000000` gives the 1,000,000 rows of the
 * acceptance (about a minute more).
 */
export const DEFAULT_FLUSH_ROWS = 250_000;
export const FLUSH_ROWS = (() => {
  const value = Number(process.env.REVOCABLE_BENCH_FLUSH_ROWS);
  return Number.isInteger(value) && value >= 1000 ? value : DEFAULT_FLUSH_ROWS;
})();

/** On SQLite, FLUSH_ROWS expired outstanding tokens and a twentieth as many of the rest. */
export const FLUSH_SEED: FlushSeed = {
  outstandingTokens: FLUSH_ROWS,
  blacklistedTokens: Math.floor(FLUSH_ROWS / 20),
  sessions: Math.floor(FLUSH_ROWS / 20),
  revocationLog: Math.floor(FLUSH_ROWS / 20),
  live: 10_000,
};

/** On PostgreSQL a quarter of it: the rate and the latency are what is compared, and seeding a million rows costs 12 s there. */
export const FLUSH_SEED_POSTGRES: FlushSeed = {
  outstandingTokens: Math.floor(FLUSH_ROWS / 4),
  blacklistedTokens: Math.floor(FLUSH_ROWS / 80),
  sessions: Math.floor(FLUSH_ROWS / 80),
  revocationLog: Math.floor(FLUSH_ROWS / 80),
  live: 10_000,
};

/** Access checks arrive at this rate while a flush runs, as requests would. */
const CHECKS_PER_SECOND = 1000;

/** Access-check latency under an open arrival schedule: each check timed from when it was due. */
export interface CheckLatency {
  checks: number;
  p50: number;
  p99: number;
  max: number;
}

export interface FlushRun {
  /** What ran: the batched `auth.flushExpired()`, or the single-transaction baseline. */
  name: string;
  totalMs: number;
  counts: FlushCounts;
  rowsPerSecond: number;
  /** `verifyAccess` latency while the flush ran. */
  latency: CheckLatency;
  /** The longest the event loop went without a turn during the flush (ms). */
  stallMs: number;
}

export interface FlushBackendResult {
  backend: string;
  seed: FlushSeed;
  seedMs: number;
  /** The same checks with nothing else running: the floor. */
  idle: CheckLatency;
  runs: FlushRun[];
}

export interface FlushExpiredResult {
  batchSize: number;
  checksPerSecond: number;
  sqlite: FlushBackendResult;
  /** PostgreSQL, or why it was not measured. */
  postgres: FlushBackendResult | { skipped: string };
}

const DAY = 86_400_000;

/**
 * Access checks due every 1 ms (an open schedule: a check that could not run on time waits, and its
 * wait counts), served by a `setImmediate` loop until `stop`; then the latency of each from due to answered.
 */
function probeAccessChecks(auth: Auth, access: string): { stop(): CheckLatency } {
  const latencies: number[] = [];
  const periodMs = 1000 / CHECKS_PER_SECOND;
  let due = performance.now();
  let running = true;
  const pump = (final = false) => {
    if (!running && !final) return;
    const now = performance.now();
    while (due <= now) {
      auth.verifyAccess(access);
      latencies.push(performance.now() - due);
      due += periodMs;
    }
    if (running) setImmediate(() => pump());
  };
  setImmediate(() => pump());
  return {
    stop() {
      running = false;
      // The checks that fell due while the last stretch blocked the loop are answered now, and counted.
      pump(true);
      return { checks: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: max(latencies) };
    },
  };
}

/** Runs `flush` while access checks arrive; answers its time, counts and the checks' latency. */
async function measure(name: string, auth: Auth, access: string, flush: () => Promise<FlushCounts>): Promise<FlushRun> {
  const loop = watchEventLoop();
  const probe = probeAccessChecks(auth, access);
  const t0 = performance.now();
  const counts = await flush();
  const totalMs = performance.now() - t0;
  const latency = probe.stop();
  const stallMs = await loop.stop();
  const rows = counts.outstandingTokens + counts.blacklistedTokens + counts.sessions + counts.revocationLog;
  return { name, totalMs, counts, rowsPerSecond: rows / (totalMs / 1000), latency, stallMs };
}

async function idleLatency(auth: Auth, access: string): Promise<CheckLatency> {
  const probe = probeAccessChecks(auth, access);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return probe.stop();
}

/** The SQL that differs between SQLite and PostgreSQL in the seeding statements. */
function dialectSql(dialect: 'sqlite' | 'postgres') {
  return {
    series: (n: number) =>
      dialect === 'sqlite'
        ? sql`with recursive series(i) as (select 0 union all select i + 1 from series where i < ${sql.lit(n - 1)}) select i from series`
        : sql`select i from generate_series(0, ${sql.lit(n - 1)}) as series(i)`,
    /** 32 hex digits, as a jti. */
    randomHex: dialect === 'sqlite' ? sql`lower(hex(randomblob(16)))` : sql`md5(random()::text || i::text)`,
    text: (expression: ReturnType<typeof sql>) => (dialect === 'sqlite' ? expression : sql`(${expression})::text`),
  };
}

/**
 * Bulk-inserts the expired rows inside the database, one statement per table (a recursive CTE on
 * SQLite, generate_series on PostgreSQL): tokens with random jtis, expiring about a month ago, twenty
 * per session as rotation leaves them, a thousand per user. Set-up only: never measured.
 */
async function seedExpired(db: Kysely<Database>, dialect: 'sqlite' | 'postgres', s: FlushSeed, nowMs: number): Promise<void> {
  const base = nowMs - 30 * DAY;
  const expiresBase = base + DAY;
  const { series, randomHex, text } = dialectSql(dialect);
  await sql`insert into outstanding_tokens (jti, user_id, session_id, token_type, generation, issued_at_ms, expires_at_ms, rotated_at_ms, replaced_by)
    select ${randomHex}, 'user-' || ${text(sql`i / 1000`)}, 'expired-session-' || ${text(sql`i / 20`)}, 'refresh', 0,
      ${sql.lit(base)} + i, ${sql.lit(expiresBase)} + i, null, null
    from (${series(s.outstandingTokens)}) as t`.execute(db);
  await sql`insert into sessions (id, user_id, generation, created_at_ms, last_used_at_ms, expires_at_ms, user_agent, ip, revoked_at_ms, revoked_reason)
    select 'expired-session-' || ${text(sql`i`)}, 'user-' || ${text(sql`i / 50`)}, 0, ${sql.lit(base)} + i * 20, ${sql.lit(base)} + i * 20,
      ${sql.lit(expiresBase)} + i * 20, 'bench', '127.0.0.1', null, null
    from (${series(s.sessions)}) as t`.execute(db);
  await sql`insert into blacklisted_tokens (jti, user_id, expires_at_ms, blacklisted_at_ms, reason)
    select ${randomHex}, 'user-' || ${text(sql`i / 50`)}, ${sql.lit(expiresBase)} + i * 20, ${sql.lit(base)} + i * 20, 'bench'
    from (${series(s.blacklistedTokens)}) as t`.execute(db);
  await sql`insert into revocation_log (kind, subject, user_id, generation, at_ms, expires_at_ms)
    select 'token', ${randomHex}, 'user-' || ${text(sql`i / 50`)}, null, ${sql.lit(base)} + i * 20, ${sql.lit(expiresBase)} + i * 20
    from (${series(s.revocationLog)}) as t`.execute(db);
}

/** The live logins the flush must leave alone: a session and a refresh token each, expiring in a day. */
async function seedLive(db: Kysely<Database>, dialect: 'sqlite' | 'postgres', s: FlushSeed, nowMs: number): Promise<void> {
  const liveExpires = nowMs + DAY;
  const { series, randomHex, text } = dialectSql(dialect);
  await sql`insert into sessions (id, user_id, generation, created_at_ms, last_used_at_ms, expires_at_ms, user_agent, ip, revoked_at_ms, revoked_reason)
    select 'live-session-' || ${text(sql`i`)}, 'user-' || ${text(sql`i / 100`)}, 0, ${sql.lit(nowMs)}, ${sql.lit(nowMs)},
      ${sql.lit(liveExpires)}, 'bench', '127.0.0.1', null, null
    from (${series(s.live)}) as t`.execute(db);
  await sql`insert into outstanding_tokens (jti, user_id, session_id, token_type, generation, issued_at_ms, expires_at_ms, rotated_at_ms, replaced_by)
    select ${randomHex}, 'user-' || ${text(sql`i / 100`)}, 'live-session-' || ${text(sql`i`)}, 'refresh', 0,
      ${sql.lit(nowMs)}, ${sql.lit(liveExpires)}, null, null
    from (${series(s.live)}) as t`.execute(db);
}

/** Checks (outside the timing) that everything expired went and everything live stayed. */
async function expectFlushed(db: Kysely<Database>, s: FlushSeed, counts: FlushCounts): Promise<void> {
  const want = { outstandingTokens: s.outstandingTokens, blacklistedTokens: s.blacklistedTokens, sessions: s.sessions, revocationLog: s.revocationLog };
  if (JSON.stringify(counts) !== JSON.stringify(want)) throw new Error(`flush deleted ${JSON.stringify(counts)}, expected ${JSON.stringify(want)}`);
  const left = async (table: 'outstanding_tokens' | 'sessions') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  // The seeded live rows, and the bench user's own login.
  if ((await left('outstanding_tokens')) !== s.live + 1 || (await left('sessions')) !== s.live + 1) {
    throw new Error('the flush did not leave exactly the live rows');
  }
}

/**
 * The alternative: the flush as it was before batching (and as Simple JWT's `flushexpiredtokens` does it,
 * one queryset delete): one transaction, one DELETE per table, whatever the number of rows.
 */
async function flushInOneTransaction(db: Kysely<Database>, nowMs: number): Promise<FlushCounts> {
  return db.transaction().execute(async (trx) => {
    const deleted = async (query: { executeTakeFirst(): Promise<{ numDeletedRows: bigint }> }) =>
      Number((await query.executeTakeFirst()).numDeletedRows);
    return {
      outstandingTokens: await deleted(trx.deleteFrom('outstanding_tokens').where('expires_at_ms', '<=', nowMs)),
      blacklistedTokens: await deleted(trx.deleteFrom('blacklisted_tokens').where('expires_at_ms', '<=', nowMs)),
      sessions: await deleted(trx.deleteFrom('sessions').where('expires_at_ms', '<=', nowMs)),
      // Every seeded log entry is a token entry past its expiry.
      revocationLog: await deleted(trx.deleteFrom('revocation_log').where('expires_at_ms', '<=', nowMs)),
    };
  });
}

/** A user with a live access token (an hour long: the section runs for minutes) to check while flushing. */
async function benchUser(auth: Auth): Promise<string> {
  const user = await auth.users.create({ username: 'flush-bench', password: 'bench-password' });
  return (await auth.issueTokens(user)).access;
}

const BENCH_SETTINGS = { accessTokenLifetime: '1h' };

async function benchSqlite(log: (line: string) => void): Promise<FlushBackendResult> {
  const seed = FLUSH_SEED;
  const dir = benchDir();
  const file = join(dir.path, 'flush.db');
  const copy = join(dir.path, 'flush-copy.db');
  let auth = await benchAuth(file, BENCH_SETTINGS);
  try {
    const access = await benchUser(auth);
    const idle = await idleLatency(auth, access);
    let db = sqlStoreOf(auth).db;
    const t0 = performance.now();
    // A large page cache for the bulk insert only; the flush runs with the store's own.
    const cacheSize = (await sql<{ cache_size: number }>`pragma cache_size`.execute(db)).rows[0]!.cache_size;
    await sql`pragma cache_size = -262144`.execute(db);
    await seedExpired(db, 'sqlite', seed, Date.now());
    await seedLive(db, 'sqlite', seed, Date.now());
    await sql`pragma cache_size = ${sql.raw(String(cacheSize))}`.execute(db);
    await checkpoint(db);
    const seedMs = performance.now() - t0;
    // The same rows for the baseline: a copy of the checkpointed file is cheaper than seeding again.
    copyFileSync(file, copy);
    log(`  SQLite: seeded ${seed.outstandingTokens.toLocaleString('en-US')} expired outstanding tokens and the rest in ${(seedMs / 1000).toFixed(1)} s`);

    const batched = await measure(`\`auth.flushExpired()\`, batches of ${DEFAULT_FLUSH_BATCH_SIZE.toLocaleString('en-US')}`, auth, access, () =>
      auth.flushExpired(),
    );
    await expectFlushed(db, seed, batched.counts);
    log(
      `  SQLite batched: ${(batched.totalMs / 1000).toFixed(1)} s, verifyAccess p50 ${batched.latency.p50.toFixed(2)} ms` +
        ` p99 ${batched.latency.p99.toFixed(1)} ms max ${batched.latency.max.toFixed(1)} ms`,
    );
    await auth.close();

    auth = await benchAuth(copy, BENCH_SETTINGS);
    db = sqlStoreOf(auth).db;
    const nowMs = Date.now();
    const single = await measure('one transaction (the flush before batching)', auth, access, () => flushInOneTransaction(db, nowMs));
    await expectFlushed(db, seed, single.counts);
    log(`  SQLite one transaction: ${(single.totalMs / 1000).toFixed(1)} s, verifyAccess max ${single.latency.max.toFixed(0)} ms`);
    return { backend: 'SQLite file', seed, seedMs, idle, runs: [batched, single] };
  } finally {
    await auth.close();
    dir.remove();
  }
}

async function benchPostgres(probe: Probe, log: (line: string) => void): Promise<FlushBackendResult | { skipped: string }> {
  if (!probe.reachable) return { skipped: `unreachable at ${probe.url} (${probe.reason})` };
  const seed = FLUSH_SEED_POSTGRES;
  return withFreshSchema(probe.url, async (url) => {
    const auth = await openBenchAuth(url, { migrate: false, settings: BENCH_SETTINGS });
    try {
      const db = sqlStoreOf(auth).db;
      const access = await benchUser(auth);
      const idle = await idleLatency(auth, access);
      const t0 = performance.now();
      // One transaction, without the store's statement timeout (10 s): a million-row INSERT takes longer.
      await db.transaction().execute(async (trx) => {
        await sql`set local statement_timeout = 0`.execute(trx);
        await seedExpired(trx, 'postgres', seed, Date.now());
        await seedLive(trx, 'postgres', seed, Date.now());
      });
      await sql`analyze`.execute(db);
      const seedMs = performance.now() - t0;
      log(`  PostgreSQL: seeded in ${(seedMs / 1000).toFixed(1)} s`);
      const batched = await measure(`\`auth.flushExpired()\`, batches of ${DEFAULT_FLUSH_BATCH_SIZE.toLocaleString('en-US')}`, auth, access, () =>
        auth.flushExpired(),
      );
      await expectFlushed(db, seed, batched.counts);
      log(
        `  PostgreSQL batched: ${(batched.totalMs / 1000).toFixed(1)} s, verifyAccess p50 ${batched.latency.p50.toFixed(2)} ms` +
          ` p99 ${batched.latency.p99.toFixed(2)} ms max ${batched.latency.max.toFixed(1)} ms`,
      );
      return { backend: 'PostgreSQL', seed, seedMs, idle, runs: [batched] };
    } finally {
      await auth.close();
    }
  });
}

/**
 * `flush-expired` on FLUSH_ROWS expired outstanding tokens (plus expired sessions, blacklist rows and log
 * entries, and live rows it must keep): its time, and the latency of access checks arriving meanwhile.
 */
export async function benchFlushExpired(postgres: Probe, log: (line: string) => void): Promise<FlushExpiredResult> {
  const sqlite = await benchSqlite(log);
  let pg: FlushBackendResult | { skipped: string };
  try {
    pg = await benchPostgres(postgres, log);
  } catch (error) {
    pg = { skipped: `failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  return {
    batchSize: DEFAULT_FLUSH_BATCH_SIZE,
    checksPerSecond: CHECKS_PER_SECOND,
    sqlite,
    postgres: pg,
  };
}
