import type { Transaction } from 'kysely';
import type { RefreshOutcome, RevocationEntry } from '../records.ts';
import type { RefreshRequest } from '../store.ts';
import type { SqlDialectName } from './migrations.ts';
import { toSession } from './rows.ts';
import type { Database, SessionsTable } from './schema.ts';
import { appendLog, insertBlacklisted, insertOutstanding, revokeSessionIn } from './statements.ts';

/**
 * Presenting a refresh (or sliding) token, inside the caller's transaction: the store's most involved
 * operation (adoption, revocation checks, session lifetime, atomic rotation, reuse detection).
 */
export async function useRefreshTokenIn(
  trx: Transaction<Database>,
  dialect: SqlDialectName,
  request: RefreshRequest,
): Promise<RefreshOutcome> {
  // One read: the token's row, its session, whether it is blacklisted, and the user's generation.
  let row = await lookUp(trx, request);
  if (!row) {
    if (!request.acceptUntracked) return { status: 'untracked' };
    await adoptUntracked(trx, dialect, request);
    row = await lookUp(trx, request);
    if (!row) throw new Error(`the adopted token ${request.jti} is not recorded`);
  }
  if (row.user_id !== request.userId) return { status: 'untracked' };

  const generation = row.user_generation === null ? 0 : Number(row.user_generation);
  if (row.s_id === null || row.s_revoked_at_ms !== null) return { status: 'revoked' };
  const session: SessionsTable = {
    id: row.s_id,
    user_id: row.s_user_id!,
    generation: Number(row.s_generation),
    created_at_ms: Number(row.s_created_at_ms),
    last_used_at_ms: Number(row.s_last_used_at_ms),
    expires_at_ms: Number(row.s_expires_at_ms),
    user_agent: row.s_user_agent,
    ip: row.s_ip,
    revoked_at_ms: null,
    revoked_reason: row.s_revoked_reason,
  };
  if ((request.generation ?? Number(row.generation)) < generation) return { status: 'revoked' };
  const sessionEndsAtMs = request.sessionMaxLifetimeMs == null ? null : session.created_at_ms + request.sessionMaxLifetimeMs;
  if (sessionEndsAtMs !== null && request.nowMs >= sessionEndsAtMs) return { status: 'expired' };
  if (row.rotated_at_ms !== null) return reused(trx, dialect, request, row);
  // 0/1 on SQLite and MySQL, a boolean on PostgreSQL.
  if (Number(row.blacklisted)) return { status: 'revoked' };

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

  const expiresAtMs = Math.max(session.expires_at_ms, nextExpiresAtMs ?? 0, request.mintsUntilMs);
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

/** The token's row, its session's (null columns when it has none), whether it is blacklisted, the user's generation. */
function lookUp(trx: Transaction<Database>, request: RefreshRequest) {
  return trx
    .selectFrom('outstanding_tokens as o')
    .leftJoin('sessions as s', 's.id', 'o.session_id')
    .select([
      'o.user_id',
      'o.session_id',
      'o.generation',
      'o.rotated_at_ms',
      'o.replaced_by',
      'o.expires_at_ms',
      's.id as s_id',
      's.user_id as s_user_id',
      's.generation as s_generation',
      's.created_at_ms as s_created_at_ms',
      's.last_used_at_ms as s_last_used_at_ms',
      's.expires_at_ms as s_expires_at_ms',
      's.user_agent as s_user_agent',
      's.ip as s_ip',
      's.revoked_at_ms as s_revoked_at_ms',
      's.revoked_reason as s_revoked_reason',
      (eb) => eb.exists(eb.selectFrom('blacklisted_tokens as b').select('b.jti').whereRef('b.jti', '=', 'o.jti')).as('blacklisted'),
      (eb) => eb.selectFrom('user_revocations as u').select('u.generation').where('u.user_id', '=', request.userId).as('user_generation'),
    ])
    .where('o.jti', '=', request.jti)
    .executeTakeFirst();
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
async function adoptUntracked(trx: Transaction<Database>, dialect: SqlDialectName, request: RefreshRequest): Promise<void> {
  const revokedAt = await trx
    .selectFrom('user_revocations')
    .select(['generation', 'revoked_at_ms'])
    .where('user_id', '=', request.userId)
    .executeTakeFirst();
  const generation = revokedAt ? Number(revokedAt.generation) : 0;
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
}
