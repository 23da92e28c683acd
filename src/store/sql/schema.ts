import type { Generated } from 'kysely';

/** Table types for Kysely. Times are epoch milliseconds; flags are 0/1 integers on every database. */
export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  outstanding_tokens: OutstandingTokensTable;
  blacklisted_tokens: BlacklistedTokensTable;
  user_revocations: UserRevocationsTable;
  revocation_log: RevocationLogTable;
  oauth_clients: OauthClientsTable;
  signing_keys: SigningKeysTable;
  audit_events: AuditEventsTable;
}

export interface AuditEventsTable {
  id: Generated<number>;
  at_ms: number;
  action: string;
  actor: string;
  user_id: string | null;
  subject: string | null;
  reason: string | null;
  ip: string | null;
}

export interface SigningKeysTable {
  kid: string;
  algorithm: string;
  private_key: string;
  public_key: string | null;
  created_at_ms: number;
  activates_at_ms: number | null;
  verify_until_ms: number | null;
}

export interface OauthClientsTable {
  client_id: string;
  secret_hash: string;
  name: string;
  created_at_ms: number;
}

export interface UsersTable {
  id: Generated<number>;
  username: string;
  password: string;
  is_active: number;
  is_staff: number;
  last_login_ms: number | null;
  date_joined_ms: number;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  generation: number;
  created_at_ms: number;
  last_used_at_ms: number;
  expires_at_ms: number;
  user_agent: string | null;
  ip: string | null;
  revoked_at_ms: number | null;
  revoked_reason: string | null;
}

export interface OutstandingTokensTable {
  jti: string;
  user_id: string;
  session_id: string;
  token_type: string;
  generation: number;
  issued_at_ms: number;
  expires_at_ms: number;
  rotated_at_ms: number | null;
  replaced_by: string | null;
}

export interface BlacklistedTokensTable {
  jti: string;
  user_id: string;
  expires_at_ms: number;
  blacklisted_at_ms: number;
  reason: string;
}

export interface UserRevocationsTable {
  user_id: string;
  generation: number;
  revoked_at_ms: number;
  reason: string;
  /** The generation whose set-based blacklisting has completed. */
  marked_generation: number;
}

export interface RevocationLogTable {
  seq: Generated<number>;
  kind: 'token' | 'session' | 'user';
  subject: string;
  user_id: string;
  generation: number | null;
  at_ms: number;
  expires_at_ms: number;
}
