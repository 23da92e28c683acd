import type {
  AuditQuery,
  AuditRecord,
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
import type {
  ImportTokensOptions,
  ImportedToken,
  ImportedTokensOutcome,
  ImportedUser,
  ImportedUsersOutcome,
} from './imports.ts';

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
  /**
   * Write the patch only if the stored password hash is still this one (a password change checked the
   * old password against it). Otherwise `revokeUser` writes nothing and throws {@link UserChangedError}.
   */
  ifPasswordIs?: string;
}

/** `revokeUser` with `ifPasswordIs`: the password changed since it was checked (a concurrent change won). */
export class UserChangedError extends Error {
  constructor() {
    super('The user row changed since it was read.');
    this.name = 'UserChangedError';
  }
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
  /**
   * Resolves once the database has answered a trivial query (`select 1`); rejects when it fails, or has
   * not answered within `timeoutMs` (default 1000). What `GET /readyz` asks.
   */
  ping(timeoutMs?: number): Promise<void>;

  createUser(user: NewUser): Promise<UserRecord>;
  findUserById(id: number): Promise<UserRecord | undefined>;
  findUserByUsername(username: string): Promise<UserRecord | undefined>;
  updateUser(id: number, patch: UserPatch): Promise<boolean>;
  deleteUser(id: number): Promise<boolean>;

  // Admin (the admin pages, src/admin/): reads only.
  /**
   * Admin: the users whose username contains `query`, compared case-insensitively (an empty query
   * matches every user; `%` and `_` match themselves), ordered by username, `limit` of them from
   * `offset`, and how many match in all.
   */
  searchUsers(search: { query: string; offset: number; limit: number }): Promise<{ users: UserRecord[]; total: number }>;
  /**
   * Admin: the user's sessions in any state (live, revoked, expired but not flushed yet), most recently
   * used first, at most `limit`. Whether one is live is `listSessions`'s to say.
   */
  recentSessions(userId: string, limit: number): Promise<SessionRecord[]>;

  createClient(client: ClientRecord): Promise<void>;
  findClient(clientId: string): Promise<ClientRecord | undefined>;
  /** Audit: appends lines (one statement); they are kept until deleted by hand. */
  appendAudit(records: AuditRecord[]): Promise<void>;
  /** Audit: lines matching the query, newest first. */
  listAudit(query: AuditQuery): Promise<AuditRecord[]>;
  /** Audit: how many lines of each action per hour since `sinceMs` (hours as epoch ms of their start). */
  countAuditByHour(sinceMs: number, actions: string[]): Promise<{ hourMs: number; action: string; count: number }[]>;

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
  /**
   * Deletes what can no longer matter at `nowMs` (the caller passes its clock minus `leeway`): outstanding
   * tokens, blacklist rows and sessions whose `expires_at_ms` is at or before `nowMs`, and the log entries
   * `loadRevocations(nowMs, …, horizonMs)` would no longer answer. Not one transaction: bounded batches
   * (`options.batchSize` rows per DELETE, each its own transaction), table after table, with a turn of
   * the event loop between batches, so no lock is held for long. Every row deleted is one that no live
   * token needs, whatever runs between the batches, so stopping half-way (`options.signal`) is safe.
   */
  flushExpired(nowMs: number, horizonMs: number, options?: FlushOptions): Promise<FlushCounts>;

  // Import ------------------------------------------------------------------------------------------
  // `revocable import-django`: bulk writes of what another system issued, one transaction per call.
  // Idempotent: what is present already is skipped, never duplicated, so an import can run again.

  /**
   * Inserts users with their own ids (the tokens of the other system name users by id). A user present
   * under the same id and username is left as it is, except that a hash still in the other system's
   * format follows a change made there (a hash written here, by a login's upgrade or a password change,
   * is never replaced). A user whose id or username belongs to another user is a conflict, not imported.
   */
  importUsers(users: ImportedUser[]): Promise<ImportedUsersOutcome>;
  /**
   * Records refresh and sliding tokens another system issued, each in a session of its own keyed by its
   * jti, as a token adopted at its first refresh gets; blacklists those blacklisted there, each with its
   * revocation log entry (ending the session if an earlier import recorded the token live).
   */
  importTokens(tokens: ImportedToken[], options: ImportTokensOptions): Promise<ImportedTokensOutcome>;
}

/** How `flushExpired` works through the tables. */
export interface FlushOptions {
  /** Rows per DELETE statement (and transaction); default {@link DEFAULT_FLUSH_BATCH_SIZE}. */
  batchSize?: number;
  /**
   * Called before the first batch and after every batch. With it, the store first counts the rows each
   * table is to lose (`expected`): what a progress bar needs, at the price of one COUNT per table.
   */
  onProgress?: (progress: FlushProgress) => void;
  /** Once aborted, stops before the next batch and resolves with what was deleted so far. */
  signal?: AbortSignal;
}

/** Where a flush is: rows deleted so far, and the counts taken before it started. */
export interface FlushProgress {
  deleted: FlushCounts;
  expected: FlushCounts;
}

/** Rows per DELETE of `flushExpired`: a few milliseconds of SQLite work per batch (bench/flush-expired.ts). */
export const DEFAULT_FLUSH_BATCH_SIZE = 5000;

/** Rows deleted by `flushExpired`, per table. */
export interface FlushCounts {
  outstandingTokens: number;
  blacklistedTokens: number;
  sessions: number;
  revocationLog: number;
}
