import type { ExpressionBuilder, Kysely, Transaction, Updateable } from 'kysely';
import type { OutstandingToken, RevocationEntry, UserPatch } from '../records.ts';
import type { SqlDialectName } from './migrations.ts';
import { outstandingRow, toEntry } from './rows.ts';
import type { Database, RevocationLogTable } from './schema.ts';

/** Statements the store's transactions share; each takes the transaction it runs in. */

export type Db = Kysely<Database> | Transaction<Database>;
type LogRow = Omit<RevocationLogTable, 'seq'>;

/** Appends to the revocation log; PostgreSQL returns the number, the others report the insert id. */
export async function appendLog(trx: Transaction<Database>, dialect: SqlDialectName, row: LogRow): Promise<RevocationEntry> {
  let seq: number;
  if (dialect === 'postgres') {
    const inserted = await trx.insertInto('revocation_log').values(row).returning('seq').executeTakeFirstOrThrow();
    seq = Number(inserted.seq);
  } else {
    const inserted = await trx.insertInto('revocation_log').values(row).executeTakeFirstOrThrow();
    seq = Number(inserted.insertId);
  }
  return toEntry({ ...row, seq });
}

/** Revokes a session inside a transaction; undefined when it does not exist or was already revoked. */
export async function revokeSessionIn(
  trx: Transaction<Database>,
  dialect: SqlDialectName,
  sessionId: string,
  reason: string,
  nowMs: number,
  horizonMs: number,
): Promise<RevocationEntry | undefined> {
  // The conditional write decides: of concurrent revocations of one session, one logs it.
  const revoked = await trx
    .updateTable('sessions')
    .set({ revoked_at_ms: nowMs, revoked_reason: reason })
    .where('id', '=', sessionId)
    .where('revoked_at_ms', 'is', null)
    .executeTakeFirst();
  if (Number(revoked.numUpdatedRows) !== 1) return undefined;
  const session = await trx.selectFrom('sessions').select('user_id').where('id', '=', sessionId).executeTakeFirstOrThrow();
  return appendLog(trx, dialect, {
    kind: 'session',
    subject: sessionId,
    user_id: session.user_id,
    generation: null,
    at_ms: nowMs,
    expires_at_ms: nowMs + horizonMs,
  });
}

export /** A step of revoked-session marking: revoked rows leave the (user_id, revoked_at_ms) index range. */
async function markSessionsRevoked(
  trx: Transaction<Database>,
  dialect: SqlDialectName,
  userId: string,
  generation: number,
  reason: string,
  nowMs: number,
  limit: number,
) {
  const update = trx.updateTable('sessions').set({ revoked_at_ms: nowMs, revoked_reason: reason });
  // MySQL has UPDATE … LIMIT but no LIMIT in an IN subquery; the others the other way round.
  const result = await (dialect === 'mysql'
    ? update.where('user_id', '=', userId).where('revoked_at_ms', 'is', null).where('generation', '<', generation).limit(limit)
    : update.where('id', 'in', (eb) =>
        eb
          .selectFrom('sessions')
          .select('id')
          .where('user_id', '=', userId)
          .where('revoked_at_ms', 'is', null)
          .where('generation', '<', generation)
          .limit(limit),
      )
  ).executeTakeFirst();
  const marked = Number(result.numUpdatedRows);
  if (marked >= limit) return { marked: 0, afterJti: null, done: false };
  await trx
    .updateTable('user_revocations')
    .set({ marked_generation: generation })
    .where('user_id', '=', userId)
    .where('marked_generation', '<', generation)
    .execute();
  return { marked: 0, afterJti: null, done: true };
}

/** A log entry that can still match a live token: see `Store.loadRevocations`. */
export function stillRelevant(nowMs: number, horizonMs: number) {
  return (eb: ExpressionBuilder<Database, 'revocation_log'>) =>
    eb.or([
      eb('expires_at_ms', '>', nowMs),
      eb.and([eb('kind', '!=', 'token'), eb('at_ms', '>', nowMs - horizonMs)]),
    ]);
}

/** Updates a user row; with `ifPasswordIs`, only while its password hash is that one. False when no row changed. */
export async function updateUserIn(db: Db, id: number, patch: UserPatch, ifPasswordIs?: string): Promise<boolean> {
  const values: Updateable<Database['users']> = {};
  if (patch.password !== undefined) values.password = patch.password;
  if (patch.isActive !== undefined) values.is_active = patch.isActive ? 1 : 0;
  if (patch.isStaff !== undefined) values.is_staff = patch.isStaff ? 1 : 0;
  if (patch.lastLoginMs !== undefined) values.last_login_ms = patch.lastLoginMs;
  let update = db.updateTable('users').set(values).where('id', '=', id);
  if (ifPasswordIs !== undefined) update = update.where('password', '=', ifPasswordIs);
  const result = await update.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function readGeneration(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('user_revocations')
    .select('generation')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row ? Number(row.generation) : 0;
}

export async function insertOutstanding(db: Db, token: OutstandingToken): Promise<void> {
  await db
    .insertInto('outstanding_tokens')
    .values(outstandingRow(token))
    .execute();
}

/** Returns whether a row was written (false when the token was already blacklisted). */
export async function insertBlacklisted(
  db: Db,
  dialect: SqlDialectName,
  jti: string,
  userId: string,
  expiresAtMs: number,
  reason: string,
  nowMs: number,
): Promise<boolean> {
  const insert = db
    .insertInto('blacklisted_tokens')
    .values({ jti, user_id: userId, expires_at_ms: expiresAtMs, blacklisted_at_ms: nowMs, reason });
  const result = await (dialect === 'mysql' ? insert.ignore() : insert.onConflict((conflict) => conflict.column('jti').doNothing())).executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}
