import { type ExpressionBuilder, type Kysely, sql } from 'kysely';
import { DEFAULT_FLUSH_BATCH_SIZE, type FlushCounts, type FlushOptions } from '../store.ts';
import type { SqlDialectName } from './migrations.ts';
import type { Database } from './schema.ts';
import { stillRelevant } from './statements.ts';

/**
 * `Store.flushExpired` over SQL: table after table, bounded batches, each one DELETE in a transaction of
 * its own, with a turn of the event loop between them. The rules (what may go) are the ones the store
 * always had; only the unit of work changed, from one transaction over everything to one per batch.
 */

type FlushTable = 'outstanding_tokens' | 'blacklisted_tokens' | 'sessions' | 'revocation_log';

interface Target {
  table: FlushTable;
  /** The primary key: the subquery picks the batch by it. */
  key: 'jti' | 'id' | 'seq';
  counter: keyof FlushCounts;
}

/** In the order the single transaction used to delete them. */
const TARGETS: Target[] = [
  { table: 'outstanding_tokens', key: 'jti', counter: 'outstandingTokens' },
  { table: 'blacklisted_tokens', key: 'jti', counter: 'blacklistedTokens' },
  { table: 'sessions', key: 'id', counter: 'sessions' },
  { table: 'revocation_log', key: 'seq', counter: 'revocationLog' },
];

const zero = (): FlushCounts => ({ outstandingTokens: 0, blacklistedTokens: 0, sessions: 0, revocationLog: 0 });

/** A turn of the event loop: better-sqlite3 is synchronous, and Kysely over it only chains resolved promises. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * What may go from `table` at `nowMs`. Every table keeps a row until `nowMs` (the caller's clock minus
 * leeway) reaches its `expires_at_ms`; the log keeps session and user entries, besides, while they are
 * younger than `horizonMs`: exactly what `loadRevocations` stops answering. The `expires_at_ms` bound is
 * repeated for the log (it is implied) so that every table is walked through its expiry index.
 */
function expired(target: Target, nowMs: number, horizonMs: number) {
  // biome-ignore lint/suspicious/noExplicitAny: one predicate over four tables that all have expires_at_ms
  return (eb: ExpressionBuilder<Database, any>) => {
    const due = eb('expires_at_ms', '<=', nowMs);
    if (target.table !== 'revocation_log') return due;
    const log = eb as unknown as ExpressionBuilder<Database, 'revocation_log'>;
    return eb.and([due, log.not(stillRelevant(nowMs, horizonMs)(log))]);
  };
}

/**
 * Deletes up to `limit` of the rows `expired` picks, oldest expiry first, in one statement. MySQL has
 * `DELETE … ORDER BY … LIMIT` but no LIMIT in an IN subquery; SQLite (as built by better-sqlite3) and
 * PostgreSQL the other way round. The ORDER BY makes each batch a range of the expiry index.
 */
async function deleteBatch(
  db: Kysely<Database>,
  dialect: SqlDialectName,
  target: Target,
  nowMs: number,
  horizonMs: number,
  limit: number,
): Promise<number> {
  const where = expired(target, nowMs, horizonMs);
  const key = sql.ref(target.key);
  const statement =
    dialect === 'mysql'
      ? db.deleteFrom(target.table).where(where).orderBy('expires_at_ms').orderBy(key).limit(limit)
      : db
          .deleteFrom(target.table)
          .where(key, 'in', (eb: ExpressionBuilder<Database, FlushTable>) =>
            eb.selectFrom(target.table).select(key.as('k')).where(where).orderBy('expires_at_ms').limit(limit),
          );
  const result = await statement.executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The rows each table is to lose: for a progress bar only, so counted once, before the first batch. */
async function countExpired(db: Kysely<Database>, nowMs: number, horizonMs: number): Promise<FlushCounts> {
  const counts = zero();
  for (const target of TARGETS) {
    const row = await db
      .selectFrom(target.table)
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where(expired(target, nowMs, horizonMs))
      .executeTakeFirstOrThrow();
    counts[target.counter] = Number(row.n);
  }
  return counts;
}

export async function flushExpiredIn(
  db: Kysely<Database>,
  dialect: SqlDialectName,
  nowMs: number,
  horizonMs: number,
  options: FlushOptions = {},
): Promise<FlushCounts> {
  const requested = Math.floor(options.batchSize ?? DEFAULT_FLUSH_BATCH_SIZE);
  const batchSize = Number.isSafeInteger(requested) && requested >= 1 ? requested : DEFAULT_FLUSH_BATCH_SIZE;
  const { onProgress, signal } = options;
  const deleted = zero();
  const expected = onProgress ? await countExpired(db, nowMs, horizonMs) : zero();
  const report = () => onProgress?.({ deleted: { ...deleted }, expected });
  report();
  for (const target of TARGETS) {
    for (;;) {
      if (signal?.aborted) return deleted;
      const n = await deleteBatch(db, dialect, target, nowMs, horizonMs, batchSize);
      deleted[target.counter] += n;
      report();
      await yieldToEventLoop();
      // A short batch: nothing of this table is left to delete (another flusher may have taken some).
      if (n < batchSize) break;
    }
  }
  return deleted;
}
