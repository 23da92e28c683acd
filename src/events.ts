import type { RequestContext } from './core.ts';

/** Django's substitute for a cleansed secret, used for the password in `loginFailed`. */
export const MASKED_PASSWORD = '********************';

/** Every event and its payload. docs/events.md says when each fires. */
export interface AuthEvents {
  /** A login issued tokens (a pair, or a sliding token). */
  tokenObtained: { userId: string | number; sessionId: string; tokenType: 'pair' | 'sliding'; context: RequestContext };
  /** A refresh or sliding token was exchanged for new tokens. */
  tokenRefreshed: {
    userId: string | number;
    sessionId: string;
    tokenType: 'refresh' | 'sliding';
    rotated: boolean;
    context: RequestContext;
  };
  /** A refresh or sliding token was blacklisted (its session ends too: `sessionRevoked` follows). */
  tokenBlacklisted: { jti: string; userId: string | number | undefined; sessionId: string | undefined };
  /** A session and every token in it were revoked. */
  sessionRevoked: { sessionId: string; userId: string; reason: string };
  /** Every token of a user was revoked. */
  userTokensRevoked: { userId: string | number; reason: string; generation: number };
  /** An already-rotated refresh token was presented again: its whole session was revoked. */
  refreshReuseDetected: { userId: string | number; sessionId: string; jti: string; context: RequestContext };
  /** A login failed; the password is masked. */
  loginFailed: { credentials: { username: string; password: string }; context: RequestContext };
  /** A user's password was changed (every token of the user was revoked: `userTokensRevoked` fires too). */
  passwordChanged: { userId: number };
}

export type AuthEventName = keyof AuthEvents;
export type AuthEventListener<K extends AuthEventName> = (payload: AuthEvents[K]) => void | Promise<void>;

/**
 * Typed signals. A listener runs after the action has been committed; whatever it throws or rejects
 * with is logged and never reaches the request that caused the event.
 */
export class EventHub {
  private readonly listeners = new Map<AuthEventName, Set<AuthEventListener<AuthEventName>>>();
  private readonly logger: Pick<Console, 'error'>;

  constructor(logger: Pick<Console, 'error'>) {
    this.logger = logger;
  }

  /** Adds a listener; returns the function that removes it. */
  on<K extends AuthEventName>(name: K, listener: AuthEventListener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as AuthEventListener<AuthEventName>);
    return () => set.delete(listener as AuthEventListener<AuthEventName>);
  }

  emit<K extends AuthEventName>(name: K, payload: AuthEvents[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        const result = listener(payload);
        if (result && typeof (result as Promise<void>).then === 'function') {
          (result as Promise<void>).catch((error) => this.report(name, error));
        }
      } catch (error) {
        this.report(name, error);
      }
    }
  }

  private report(name: string, error: unknown): void {
    this.logger.error(`revocable: a "${name}" listener failed`, error);
  }
}
