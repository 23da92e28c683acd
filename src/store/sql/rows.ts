import type { Selectable } from 'kysely';
import type { OutstandingToken, RevocationEntry, SessionRecord, SigningKeyRecord, UserRecord } from '../records.ts';
import type { OutstandingTokensTable, RevocationLogTable, SessionsTable, SigningKeysTable } from './schema.ts';

/** Rows ⇄ records: the one place that knows the column names and turns bigint/0-1 columns into numbers and booleans. */

export function toUser(row: {
  id: number;
  username: string;
  password: string;
  is_active: number;
  is_staff: number;
  last_login_ms: number | null;
  date_joined_ms: number;
}): UserRecord {
  return {
    id: Number(row.id),
    username: row.username,
    password: row.password,
    isActive: Boolean(Number(row.is_active)),
    isStaff: Boolean(Number(row.is_staff)),
    lastLoginMs: row.last_login_ms === null ? null : Number(row.last_login_ms),
    dateJoinedMs: Number(row.date_joined_ms),
  };
}

export function toSession(row: SessionsTable): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    generation: Number(row.generation),
    createdAtMs: Number(row.created_at_ms),
    lastUsedAtMs: Number(row.last_used_at_ms),
    expiresAtMs: Number(row.expires_at_ms),
    userAgent: row.user_agent,
    ip: row.ip,
    revokedAtMs: row.revoked_at_ms === null ? null : Number(row.revoked_at_ms),
    revokedReason: row.revoked_reason,
  };
}

export function toEntry(row: Selectable<RevocationLogTable>): RevocationEntry {
  const base = {
    seq: Number(row.seq),
    subject: row.subject,
    userId: row.user_id,
    atMs: Number(row.at_ms),
    expiresAtMs: Number(row.expires_at_ms),
  };
  if (row.kind === 'user') return { ...base, kind: 'user', generation: Number(row.generation) };
  return { ...base, kind: row.kind };
}

/** The row of an outstanding token, as inserted. */
export function outstandingRow(token: OutstandingToken): OutstandingTokensTable {
  return {
    jti: token.jti,
    user_id: token.userId,
    session_id: token.sessionId,
    token_type: token.tokenType,
    generation: token.generation,
    issued_at_ms: token.issuedAtMs,
    expires_at_ms: token.expiresAtMs,
    rotated_at_ms: null,
    replaced_by: null,
  };
}

export function toSigningKey(row: SigningKeysTable): SigningKeyRecord {
  return {
    kid: row.kid,
    algorithm: row.algorithm,
    privateKey: row.private_key,
    publicKey: row.public_key,
    createdAtMs: Number(row.created_at_ms),
    activatesAtMs: row.activates_at_ms === null ? null : Number(row.activates_at_ms),
    verifyUntilMs: row.verify_until_ms === null ? null : Number(row.verify_until_ms),
  };
}

export function fromSigningKey(key: SigningKeyRecord): SigningKeysTable {
  return {
    kid: key.kid,
    algorithm: key.algorithm,
    private_key: key.privateKey,
    public_key: key.publicKey,
    created_at_ms: key.createdAtMs,
    activates_at_ms: key.activatesAtMs,
    verify_until_ms: key.verifyUntilMs,
  };
}
