import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../src/store/sql/schema.ts';

/** Rows per INSERT: 10 columns × 1,000 stays far below SQLite's bound-parameter limit. */
const BATCH = 1000;

const hex = () => randomUUID().replaceAll('-', '');

/**
 * Bulk-inserts `n` live logins of one user in one transaction: `n` sessions, each with one outstanding
 * refresh token, at `generation`, expiring in a week. Set-up only: never measured.
 */
export async function seedOutstanding(db: Kysely<Database>, userId: string, n: number, generation: number): Promise<void> {
  const nowMs = Date.now();
  const expiresAtMs = nowMs + 7 * 24 * 3600 * 1000;
  await db.transaction().execute(async (trx) => {
    for (let start = 0; start < n; start += BATCH) {
      const size = Math.min(BATCH, n - start);
      const sessions = Array.from({ length: size }, () => ({
        id: hex(),
        user_id: userId,
        generation,
        created_at_ms: nowMs,
        last_used_at_ms: nowMs,
        expires_at_ms: expiresAtMs,
        user_agent: 'bench',
        ip: '127.0.0.1',
        revoked_at_ms: null,
        revoked_reason: null,
      }));
      await trx.insertInto('sessions').values(sessions).execute();
      await trx
        .insertInto('outstanding_tokens')
        .values(
          sessions.map((session) => ({
            jti: hex(),
            user_id: userId,
            session_id: session.id,
            token_type: 'refresh',
            generation,
            issued_at_ms: nowMs,
            expires_at_ms: expiresAtMs,
            rotated_at_ms: null,
            replaced_by: null,
          })),
        )
        .execute();
    }
  });
  await checkpoint(db);
}

/**
 * Puts the user's rows back to "all live at `generation`" after a revoke-all swept them, so the next
 * repetition has the same `n` tokens to blacklist. Set-up only: never measured.
 */
export async function reviveOutstanding(db: Kysely<Database>, userId: string, generation: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('blacklisted_tokens').where('user_id', '=', userId).execute();
    await trx.updateTable('outstanding_tokens').set({ generation }).where('user_id', '=', userId).execute();
    await trx
      .updateTable('sessions')
      .set({ generation, revoked_at_ms: null, revoked_reason: null })
      .where('user_id', '=', userId)
      .execute();
  });
  await checkpoint(db);
}

/** Folds the WAL back into the database, so a measured commit never pays for the set-up's pages. */
export async function checkpoint(db: Kysely<Database>): Promise<void> {
  await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
}
