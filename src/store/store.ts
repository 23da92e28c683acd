import type {
  ClientRecord,
  NewUser,
  OutstandingToken,
  RefreshOutcome,
  RevocationEntry,
  SessionRecord,
  SessionSummary,
  SigningKeyRecord,
  UserPatch,
  UserRecord,
} from './records.ts';

/** What a new login records. */
export interface NewSession {
  id: string;
  userId: string;
  createdAtMs: number;
  /** The latest expiry of any token of the session so far. */
  expiresAtMs: number;
  userAgent: string | null;
  ip: string | null;
}

/** A change to a user row written together with a revoke-all. */
export interface UserChange {
  id: number;
  patch?: UserPatch;
  delete?: boolean;
}

/** The user row and password hash a login verified. */
export interface LoginGuard {
  userRowId: number;
  passwordHash: string;
  /** A stronger hash of the same password to store, written only if `passwordHash` is still current. */
  upgradedHash?: string;
}

/** What presenting a refresh token asks of the store. */
export interface RefreshRequest {
  jti: string;
  userId: string;
  /** The session the token belongs to: its `sid` claim, or its own `jti` for tokens minted elsewhere. */
  sessionId: string;
  /** The token's generation claim, or undefined for tokens minted elsewhere. */
  generation: number | undefined;
  /** The token's `iat` in milliseconds, for tokens without a generation claim. */
  issuedAtMs: number;
  expiresAtMs: number;
  nowMs: number;
  /** Record a token that was signed with our key but never issued by us, instead of refusing it. */
  acceptUntracked: boolean;
  /** Rotation: consume this token and record its successor in the same transaction. */
  rotate?: { next: Omit<OutstandingToken, 'generation'>; blacklistOld: boolean };
  /** Reuse of a rotated token revokes its session, unless it is the immediate predecessor within `graceMs`. */
  reuse: { graceMs: number; horizonMs: number };
  /** The latest expiry of any token this refresh mints: the session's row lives at least that long. */
  mintsUntilMs: number;
  /** `sessionMaxLifetime` in ms, or null: refuse past it, cap the successor's expiry at it. */
  sessionMaxLifetimeMs: number | null;
}

/**
 * The one narrow interface every database implements.
 *
 * Atomicity (each method is one transaction unless it says otherwise):
 * - `startSession` reads the user's generation and records session and token together: a login that
 *   races a revoke-all either precedes it (and is revoked by it) or follows it (and carries the new
 *   generation).
 * - `useRefreshToken` with `rotate` consumes the token with a conditional write
 *   (`UPDATE … WHERE rotated_at_ms IS NULL`): of any number of concurrent calls with one token, exactly
 *   one sees `ok`; the others see `reused` (or `revoked`, once a reuse has revoked the session). A reuse
 *   that revokes the session does so in the same transaction that detects it.
 * - `revokeUser` is one write of the user's generation and one log append, O(1) in the user's tokens.
 * - Every revoking method appends to the revocation log in the same transaction as the record it
 *   writes, and resolves only after the commit: an acknowledged revocation is durable.
 * - `markUserTokensBlacklisted` is the set-based bookkeeping after a revoke-all; correctness never
 *   depends on it, so it runs after the revoke-all is acknowledged, in bounded batches, and is idempotent.
 */
export interface Store {
  /** Applies pending migrations. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  createUser(user: NewUser): Promise<UserRecord>;
  findUserById(id: number): Promise<UserRecord | undefined>;
  findUserByUsername(username: string): Promise<UserRecord | undefined>;
  updateUser(id: number, patch: UserPatch): Promise<boolean>;
  deleteUser(id: number): Promise<boolean>;

  createClient(client: ClientRecord): Promise<void>;
  findClient(clientId: string): Promise<ClientRecord | undefined>;
  /** Every managed signing key, oldest first. */
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  addSigningKey(key: SigningKeyRecord): Promise<void>;
  /**
   * Schedules `kid` (a standby key) to sign from `activatesAtMs`, and gives every key that signs now or
   * is scheduled to, and has no end yet, the end `verifyUntilMs`: one transaction. False when `kid` is
   * not a standby key.
   */
  activateSigningKey(kid: string, activatesAtMs: number, verifyUntilMs: number): Promise<boolean>;
  /** Whether a refresh or sliding token is recorded and neither rotated nor blacklisted. */
  isTokenLive(jti: string): Promise<boolean>;

  /**
   * Starts a session with its first refresh (or sliding) token; returns the generation the tokens carry.
   * With `loginGuard`, returns undefined instead when the user's password hash is no longer the one that
   * was just verified, or the user is no longer active: a password change or a deactivation that
   * committed during the login wins.
   */
  startSession(
    session: NewSession,
    refresh: Omit<OutstandingToken, 'generation'>,
    loginGuard?: LoginGuard,
  ): Promise<{ generation: number } | undefined>;
  /** The user's current revocation generation (0 when never revoked). */
  userGeneration(userId: string): Promise<number>;
  useRefreshToken(request: RefreshRequest): Promise<RefreshOutcome>;
  findSession(id: string): Promise<SessionRecord | undefined>;
  /** The user's live sessions (not revoked, not expired, not older than the last revoke-all), most recent first. */
  listSessions(userId: string, nowMs: number): Promise<SessionSummary[]>;

  /** Blacklists one token (idempotent) and, when `sessionId` is given, revokes that session too. */
  blacklistToken(
    token: { jti: string; userId: string; expiresAtMs: number; sessionId?: string },
    reason: string,
    nowMs: number,
    horizonMs: number,
  ): Promise<RevocationEntry[]>;
  /** Revokes a session; undefined when it does not exist or was already revoked. */
  revokeSession(sessionId: string, reason: string, nowMs: number, horizonMs: number): Promise<RevocationEntry | undefined>;
  /** Revokes every live session of the user but one; returns one log entry per session revoked. */
  revokeOtherSessions(
    userId: string,
    keepSessionId: string,
    reason: string,
    nowMs: number,
    horizonMs: number,
  ): Promise<RevocationEntry[]>;
  /**
   * Raises the user's generation by one: every token minted before is revoked. `alsoChangeUser` (a new
   * password hash, a deactivation, a deletion) is written in the same transaction, so no login can slip
   * between the two.
   */
  revokeUser(
    userId: string,
    reason: string,
    nowMs: number,
    horizonMs: number,
    alsoChangeUser?: UserChange,
  ): Promise<RevocationEntry & { kind: 'user' }>;
  /**
   * One bounded step of the bookkeeping after a revoke-all, one set-based statement each. While
   * `afterJti` is a string: blacklists the user's outstanding tokens older than `generation` among the
   * next `limit` of the user's rows after it, in jti order, and answers where to resume (null once the
   * tokens are done). Then, with `afterJti` null: marks up to `limit` of the user's older sessions
   * revoked; when none is left, records the generation as marked and answers `done`.
   */
  markUserTokensBlacklisted(
    userId: string,
    generation: number,
    reason: string,
    nowMs: number,
    range: { afterJti: string | null; limit: number },
  ): Promise<{ marked: number; afterJti: string | null; done: boolean }>;
  /** Users whose latest revoke-all has not been followed by `markUserTokensBlacklisted` yet. */
  unmarkedUserRevocations(): Promise<{ userId: string; generation: number; reason: string }[]>;

  /**
   * Log entries after `afterSeq`, and those numbered in `missing`, in order, that can still match a live
   * token at `nowMs`: token entries before their expiry, session and user entries younger than
   * `horizonMs` (or than the horizon of the process that wrote them, whichever is later). Sequence
   * numbers are handed out at insert, so on PostgreSQL and MySQL a lower one can commit after a higher
   * one: readers ask again for the numbers they have not seen (see revocation/log-cursor.ts).
   */
  loadRevocations(nowMs: number, afterSeq: number, horizonMs: number, missing?: number[]): Promise<RevocationEntry[]>;
  /** Deletes what can no longer matter: expired tokens, blacklist rows, sessions and log entries. */
  flushExpired(nowMs: number, horizonMs: number): Promise<FlushCounts>;
}

/** Rows deleted by `flushExpired`, per table. */
export interface FlushCounts {
  outstandingTokens: number;
  blacklistedTokens: number;
  sessions: number;
  revocationLog: number;
}
