import type { Transaction } from 'kysely';
import type { RefreshOutcome, RevocationEntry } from '../records.ts';
import type { RefreshRequest } from '../store.ts';
import type { SqlDialectName } from './migrations.ts';
import { toSession } from './rows.ts';
import type { Database } from './schema.ts';
import { appendLog, insertBlacklisted, insertOutstanding, readGeneration, revokeSessionIn } from './statements.ts';

/**
 * Presenting a refresh (or sliding) token, inside the caller's transaction: the store's most involved
 * operation (adoption, revocation checks, session lifetime, atomic rotation, reuse detection).
 */
export async function useRefreshTokenIn(
  trx: Transaction<Database>,
  dialect: SqlDialectName,
  request: RefreshRequest,
): Promise<RefreshOutcome> {
  let row = await trx
    .selectFrom('outstanding_tokens')
    .select(['user_id', 'session_id', 'generation', 'rotated_at_ms', 'replaced_by', 'expires_at_ms'])
    .where('jti', '=', request.jti)
    .executeTakeFirst();
  const generation = await readGeneration(trx, request.userId);
  if (!row) {
    if (!request.acceptUntracked) return { status: 'untracked' };
    row = await adoptUntracked(trx, dialect, request, generation);
  }
  if (row.user_id !== request.userId) return { status: 'untracked' };

  const session = await trx.selectFrom('sessions').selectAll().where('id', '=', row.session_id).executeTakeFirst();
  if (!session || session.revoked_at_ms !== null) return { status: 'revoked' };
  if ((request.generation ?? row.generation) < generation) return { status: 'revoked' };
  const sessionEndsAtMs =
    request.sessionMaxLifetimeMs == null ? null : Number(session.created_at_ms) + request.sessionMaxLifetimeMs;
  if (sessionEndsAtMs !== null && request.nowMs >= sessionEndsAtMs) return { status: 'expired' };
  if (row.rotated_at_ms !== null) return reused(trx, dialect, request, row);
  const blacklisted = await trx
    .selectFrom('blacklisted_tokens')
    .select('jti')
    .where('jti', '=', request.jti)
    .executeTakeFirst();
  if (blacklisted) return { status: 'revoked' };

  const revocations: RevocationEntry[] = [];
  let nextExpiresAtMs: number | null = null;
  if (request.rotate) {
    nextExpiresAtMs = Math.min(request.rotate.next.expiresAtMs, sessionEndsAtMs ?? Number.POSITIVE_INFINITY);
    // The conditional write that makes rotation single-use on every database.
    const consumed = await trx
      .updateTable('outstanding_tokens')
      .set({ rotated_at_ms: request.nowMs, replaced_by: request.rotate.next.jti })
      .where('jti', '=', request.jti)
      .where('rotated_at_ms', 'is', null)
      .executeTakeFirst();
    if (Number(consumed.numUpdatedRows) !== 1) {
      const winner = await trx
        .selectFrom('outstanding_tokens')
        .select(['session_id', 'rotated_at_ms', 'replaced_by'])
        .where('jti', '=', request.jti)
        .executeTakeFirstOrThrow();
      return reused(trx, dialect, request, winner);
    }
    if (request.rotate.blacklistOld) {
      await insertBlacklisted(trx, dialect, request.jti, row.user_id, row.expires_at_ms, 'rotated', request.nowMs);
    }
    revocations.push(
      await appendLog(trx, dialect, {
        kind: 'token',
        subject: request.jti,
        user_id: row.user_id,
        generation: null,
        at_ms: request.nowMs,
        expires_at_ms: row.expires_at_ms,
      }),
    );
    await insertOutstanding(trx, { ...request.rotate.next, expiresAtMs: nextExpiresAtMs, generation });
  }

  const expiresAtMs = Math.max(Number(session.expires_at_ms), nextExpiresAtMs ?? 0, request.mintsUntilMs);
  await trx
    .updateTable('sessions')
    .set({ last_used_at_ms: request.nowMs, expires_at_ms: expiresAtMs })
    .where('id', '=', session.id)
    .execute();
  return {
    status: 'ok',
    generation,
    session: toSession({ ...session, last_used_at_ms: request.nowMs, expires_at_ms: expiresAtMs }),
    sessionEndsAtMs,
    nextExpiresAtMs,
    revocations,
  };
}

/**
 * A rotated token came back. Within the grace window, the immediate predecessor of the live token is
 * an honest retry and is only refused; anything else revokes the session, in this transaction.
 */
async function reused(
  trx: Transaction<Database>,
  dialect: SqlDialectName,
  request: RefreshRequest,
  row: { session_id: string; rotated_at_ms: number | null; replaced_by: string | null },
): Promise<RefreshOutcome> {
  const { graceMs, horizonMs } = request.reuse;
  if (graceMs > 0 && row.rotated_at_ms !== null && request.nowMs - Number(row.rotated_at_ms) <= graceMs && row.replaced_by) {
    const successor = await trx
      .selectFrom('outstanding_tokens')
      .select('rotated_at_ms')
      .where('jti', '=', row.replaced_by)
      .executeTakeFirst();
    if (successor && successor.rotated_at_ms === null) {
      return { status: 'reused', sessionId: row.session_id, sessionRevoked: false, revocations: [] };
    }
  }
  const entry = await revokeSessionIn(trx, dialect, row.session_id, 'refresh_reuse', request.nowMs, horizonMs);
  if (!entry) return { status: 'revoked' };
  return { status: 'reused', sessionId: row.session_id, sessionRevoked: true, revocations: [entry] };
}

/**
 * A validly signed refresh token minted elsewhere (Simple JWT): give it a session of its own, keyed by
 * its jti. Without a generation claim it belongs to the current generation only if it was issued after
 * the user's last revoke-all, in a later whole second (fail closed, as the cache does).
 */
async function adoptUntracked(
  trx: Transaction<Database>,
  dialect: SqlDialectName,
  request: RefreshRequest,
  generation: number,
) {
  const revokedAt = await trx
    .selectFrom('user_revocations')
    .select('revoked_at_ms')
    .where('user_id', '=', request.userId)
    .executeTakeFirst();
  const issuedAfterRevokeAll =
    !revokedAt || Math.floor(request.issuedAtMs / 1000) > Math.floor(Number(revokedAt.revoked_at_ms) / 1000);
  const tokenGeneration = request.generation ?? (issuedAfterRevokeAll ? generation : generation - 1);
  // Two first presentations of one token may race: insert-or-ignore, then both read the one row.
  const session = trx.insertInto('sessions').values({
    id: request.sessionId,
    user_id: request.userId,
    generation: tokenGeneration,
    created_at_ms: request.issuedAtMs,
    last_used_at_ms: request.nowMs,
    expires_at_ms: request.expiresAtMs,
    user_agent: null,
    ip: null,
    revoked_at_ms: null,
    revoked_reason: null,
  });
  await (dialect === 'mysql' ? session.ignore() : session.onConflict((conflict) => conflict.column('id').doNothing())).execute();
  const token = trx.insertInto('outstanding_tokens').values({
    jti: request.jti,
    user_id: request.userId,
    session_id: request.sessionId,
    token_type: 'refresh',
    generation: tokenGeneration,
    issued_at_ms: request.issuedAtMs,
    expires_at_ms: request.expiresAtMs,
    rotated_at_ms: null,
    replaced_by: null,
  });
  await (dialect === 'mysql' ? token.ignore() : token.onConflict((conflict) => conflict.column('jti').doNothing())).execute();
  return trx
    .selectFrom('outstanding_tokens')
    .select(['user_id', 'session_id', 'generation', 'rotated_at_ms', 'replaced_by', 'expires_at_ms'])
    .where('jti', '=', request.jti)
    .executeTakeFirstOrThrow();
}
