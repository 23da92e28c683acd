/** Rows as the rest of the library sees them: camelCase, times in epoch milliseconds, booleans as booleans. */

/** The `token_type` claim values revocable mints. */
export type TokenType = 'access' | 'refresh' | 'sliding';

/** A user of the built-in user table. `password` is a PHC / Django-format hash, never a password. */
export interface UserRecord {
  id: number;
  username: string;
  password: string;
  isActive: boolean;
  isStaff: boolean;
  lastLoginMs: number | null;
  dateJoinedMs: number;
}

export interface NewUser {
  username: string;
  password: string;
  isActive: boolean;
  isStaff: boolean;
  dateJoinedMs: number;
}

export interface UserPatch {
  password?: string;
  isActive?: boolean;
  isStaff?: boolean;
  lastLoginMs?: number;
}

/** A login and every token refreshed from it: a token family. */
export interface SessionRecord {
  id: string;
  userId: string;
  generation: number;
  createdAtMs: number;
  lastUsedAtMs: number;
  expiresAtMs: number;
  userAgent: string | null;
  ip: string | null;
  revokedAtMs: number | null;
  revokedReason: string | null;
}

/** A refresh (or sliding) token the server issued. The raw token is never stored: only its `jti`. */
export interface OutstandingToken {
  jti: string;
  userId: string;
  sessionId: string;
  tokenType: TokenType;
  generation: number;
  issuedAtMs: number;
  expiresAtMs: number;
}

/** One entry of the ordered revocation log: what the in-memory cache is built from. */
export type RevocationEntry =
  | { seq: number; kind: 'token'; subject: string; userId: string; atMs: number; expiresAtMs: number }
  | { seq: number; kind: 'session'; subject: string; userId: string; atMs: number; expiresAtMs: number }
  | {
      seq: number;
      kind: 'user';
      subject: string;
      userId: string;
      generation: number;
      atMs: number;
      expiresAtMs: number;
    };

/** The outcome of presenting a refresh (or sliding) token to the store. */
export type RefreshOutcome =
  | {
      status: 'ok';
      generation: number;
      session: SessionRecord;
      /** When the session must end (`sessionMaxLifetime`), or null. */
      sessionEndsAtMs: number | null;
      /** The rotated token's expiry after capping it at the session's end. */
      nextExpiresAtMs: number | null;
      revocations: RevocationEntry[];
    }
  | { status: 'untracked' }
  | { status: 'revoked' }
  /** The session has reached `sessionMaxLifetime`. */
  | { status: 'expired' }
  /**
   * The token was already rotated: someone presented it a second time. `sessionRevoked` is true when
   * this presentation revoked the session, false when the grace window forgave an honest retry.
   */
  | { status: 'reused'; sessionId: string; sessionRevoked: boolean; revocations: RevocationEntry[] };

/** A session as listed to its user. */
export interface SessionSummary {
  id: string;
  createdAtMs: number;
  lastUsedAtMs: number;
  userAgent: string | null;
  ip: string | null;
}

/** A client allowed to call introspection and revocation. The secret is kept only as a hash. */
export interface ClientRecord {
  clientId: string;
  secretHash: string;
  name: string;
  createdAtMs: number;
}

/**
 * A signing key managed by `revocable keys`. Standby (published and verifying, not signing) while
 * `activatesAtMs` is null; signing from `activatesAtMs` until a successor activates; verifying until
 * `verifyUntilMs`, set when a successor is scheduled to the successor's activation plus the longest
 * token lifetime.
 */
export interface SigningKeyRecord {
  kid: string;
  algorithm: string;
  /** The HMAC secret or PKCS #8 PEM private key. */
  privateKey: string;
  /** SPKI PEM; null for HMAC. */
  publicKey: string | null;
  createdAtMs: number;
  activatesAtMs: number | null;
  verifyUntilMs: number | null;
}

/** One line of the audit trail. */
export interface AuditRecord {
  /** Assigned by the store; increasing. */
  id?: number;
  atMs: number;
  /** What happened: see `AuditAction` in audit/audit.ts. */
  action: string;
  /** Who did it: `user:<id>`, `client:<id>`, `staff:<username>`, `cli:<os user>`, `system`, `library`. */
  actor: string;
  /** The user it concerns, when known. */
  userId: string | null;
  /** The session id, jti or username it concerns. */
  subject: string | null;
  reason: string | null;
  ip: string | null;
}

/** Which audit lines to read: newest first, at most `limit`, before `beforeId` (paging). */
export interface AuditQuery {
  userId?: string;
  sinceMs?: number;
  actions?: string[];
  beforeId?: number;
  limit: number;
}
