import type { ValidToken } from '../tokens/claims.ts';
import type { RevocationEntry } from '../store/records.ts';

/** Which revocation level a token matched. */
export type RevocationLevel = 'token' | 'session' | 'user';

interface UserCutoff {
  generation: number;
  atMs: number;
  expiresAtMs: number;
}

/**
 * The in-memory image of the revocation log: what makes checking a token free of I/O.
 *
 * It only holds entries that can still match a live token (each entry carries the time after which no
 * token it could revoke is alive), so it stays small and prunes itself as it goes.
 */
export class RevocationCache {
  private readonly tokens = new Map<string, number>();
  private readonly sessions = new Map<string, number>();
  private readonly users = new Map<string, UserCutoff>();
  private nextPruneMs = 0;
  private readonly horizonMs: number;

  /**
   * `horizonMs` is this instance's longest token lifetime (plus leeway): a session or user entry is
   * kept at least that long after it was written, whatever horizon the writing process had.
   */
  constructor(horizonMs: number) {
    this.horizonMs = horizonMs;
  }

  get size(): { tokens: number; sessions: number; users: number } {
    return { tokens: this.tokens.size, sessions: this.sessions.size, users: this.users.size };
  }

  /** Applies log entries; idempotent and order-insensitive (a user's highest generation wins). */
  apply(entries: Iterable<RevocationEntry>): void {
    for (const entry of entries) {
      if (entry.kind === 'token') {
        this.tokens.set(entry.subject, Math.max(entry.expiresAtMs, this.tokens.get(entry.subject) ?? 0));
        continue;
      }
      const expiresAtMs = Math.max(entry.expiresAtMs, entry.atMs + this.horizonMs);
      if (entry.kind === 'session') {
        this.sessions.set(entry.subject, Math.max(expiresAtMs, this.sessions.get(entry.subject) ?? 0));
      } else {
        const known = this.users.get(entry.subject);
        if (!known || entry.generation > known.generation) {
          this.users.set(entry.subject, { generation: entry.generation, atMs: entry.atMs, expiresAtMs });
        }
      }
    }
  }

  /**
   * The single revocation predicate: the level at which the token is revoked, or undefined.
   * A token minted here carries the user's generation and is compared exactly; a token minted elsewhere
   * has only `iat` in whole seconds, so one issued in the same second as a revoke-all is refused
   * (fail closed).
   */
  check(token: ValidToken): RevocationLevel | undefined {
    if (this.tokens.size !== 0 && this.tokens.has(token.jti)) return 'token';
    if (token.sessionId !== undefined && this.sessions.size !== 0 && this.sessions.has(token.sessionId)) {
      return 'session';
    }
    if (token.userId !== undefined && this.users.size !== 0) {
      const cutoff = this.users.get(String(token.userId));
      if (cutoff !== undefined) {
        if (token.generation !== undefined) {
          if (token.generation < cutoff.generation) return 'user';
        } else if (Math.floor(token.issuedAtMs / 1000) <= Math.floor(cutoff.atMs / 1000)) {
          return 'user';
        }
      }
    }
    return undefined;
  }

  /** Forgets entries that can no longer match a live token. Cheap to call often: it runs at most once a second. */
  prune(nowMs: number): void {
    if (nowMs < this.nextPruneMs) return;
    this.nextPruneMs = nowMs + 1000;
    for (const [key, expiresAtMs] of this.tokens) if (expiresAtMs <= nowMs) this.tokens.delete(key);
    for (const [key, expiresAtMs] of this.sessions) if (expiresAtMs <= nowMs) this.sessions.delete(key);
    for (const [key, cutoff] of this.users) if (cutoff.expiresAtMs <= nowMs) this.users.delete(key);
  }
}
