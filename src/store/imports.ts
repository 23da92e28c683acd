/** What the store's import methods take and answer (`revocable import-django`). */

/** A user of another system (Django's `auth_user`), keeping its id: the tokens it issued name users by it. */
export interface ImportedUser {
  id: number;
  username: string;
  /** The hash as the other system stored it (Django's `pbkdf2_sha256$…`), upgraded by the first login. */
  password: string;
  isActive: boolean;
  isStaff: boolean;
  dateJoinedMs: number;
  lastLoginMs: number | null;
}

/** A user that was not imported because its id or its username already belongs to another user. */
export interface ImportedUserConflict {
  id: number;
  username: string;
  existing: { id: number; username: string };
}

export interface ImportedUsersOutcome {
  /** New rows, with their own ids. */
  inserted: number;
  /** Already present under the same id and username: left as they are. */
  unchanged: number;
  /**
   * Already present with a hash in the other system's format (no login has replaced it yet) that the
   * other system has changed since: the new one replaces it. A hash written here is never replaced.
   */
  passwordsUpdated: number;
  conflicts: ImportedUserConflict[];
}

/** A refresh or sliding token another system issued: its claims and bookkeeping, never the token itself. */
export interface ImportedToken {
  jti: string;
  /** The user id claim as a string, as revocation records key users. */
  userId: string;
  tokenType: 'refresh' | 'sliding';
  issuedAtMs: number;
  expiresAtMs: number;
  /** When the other system blacklisted it; null for a token still outstanding there. */
  blacklistedAtMs: number | null;
}

export interface ImportTokensOptions {
  nowMs: number;
  /** Added to a blacklisted token's expiry, as `blacklistToken` does. */
  leewayMs: number;
  /** How long a session revocation's log entry lives (the longest token lifetime plus leeway). */
  horizonMs: number;
  /** Recorded with the blacklist rows and revoked sessions. */
  reason: string;
}

export interface ImportedTokensOutcome {
  /** New outstanding rows, each with a session of its own keyed by its jti (as a token minted elsewhere gets). */
  recorded: number;
  /** New blacklist rows, each with its revocation log entry. */
  blacklisted: number;
  /** Known already, with nothing to change. */
  unchanged: number;
}
