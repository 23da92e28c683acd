import type { Clock } from '../clock.ts';
import type { EventHub } from '../events.ts';
import type { AuditQuery, AuditRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { currentActor } from './actor.ts';

/** The actions the trail records. */
export const AUDIT_ACTIONS = [
  'login',
  'login_failed',
  'user_tokens_revoked',
  'session_revoked',
  'token_blacklisted',
  'refresh_reuse_detected',
  'password_changed',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** The revocation actions, as the admin page's "recent revocations" lists them. */
export const REVOCATION_ACTIONS: AuditAction[] = ['user_tokens_revoked', 'session_revoked', 'token_blacklisted', 'refresh_reuse_detected'];

/** `auth.audit`: the trail of who revoked what and why, and of logins. */
export interface AuditTrail {
  list(query?: Partial<AuditQuery>): Promise<AuditRecord[]>;
  /** Counts per hour since `sinceMs` of the given actions. */
  hourly(sinceMs: number, actions: AuditAction[]): Promise<{ hourMs: number; action: string; count: number }[]>;
}

export interface AuditOptions {
  events: EventHub;
  store: Store;
  clock: Clock;
  /** Writes after the answer; `auth.settled()` waits for the writes. */
  runInBackground(task: () => Promise<unknown>): void;
  /** Also hands every line to the log (the server logs them as JSON through pino). */
  log?: ((record: AuditRecord) => void) | undefined;
}

/**
 * Listens to the events and writes one audit line per revocation, login and failed login, naming
 * the actor of the request or command it happened in (see actor.ts). Lines are written right after
 * the action commits; an audit write that fails is logged and never undoes or delays the action.
 */
export function attachAuditTrail(options: AuditOptions): AuditTrail {
  const { events, store, clock } = options;
  const write = (line: Omit<AuditRecord, 'atMs' | 'actor' | 'ip'> & { actor?: string; ip?: string | undefined }) => {
    const acting = currentActor();
    const record: AuditRecord = {
      ...line,
      atMs: clock(),
      actor: line.actor ?? acting.actor,
      ip: line.ip ?? acting.ip ?? null,
      reason: line.reason === null ? null : line.reason.slice(0, 160),
    };
    options.log?.(record);
    options.runInBackground(() => store.appendAudit([record]));
  };
  const id = (value: string | number | undefined) => (value === undefined ? null : String(value));

  events.on('tokenObtained', ({ userId, sessionId, tokenType, context }) =>
    write({ action: 'login', userId: id(userId), subject: sessionId, reason: tokenType, ip: context.ip, actor: `user:${userId}` }),
  );
  events.on('loginFailed', ({ credentials, context }) =>
    write({ action: 'login_failed', userId: null, subject: credentials.username.slice(0, 150), reason: null, ip: context.ip }),
  );
  events.on('userTokensRevoked', ({ userId, reason }) =>
    write({ action: 'user_tokens_revoked', userId: id(userId), subject: null, reason }),
  );
  events.on('sessionRevoked', ({ sessionId, userId, reason }) =>
    write({
      action: 'session_revoked',
      userId,
      subject: sessionId,
      reason,
      ...(reason === 'refresh_reuse' ? { actor: 'system' } : {}),
    }),
  );
  events.on('tokenBlacklisted', ({ jti, userId, sessionId }) =>
    write({ action: 'token_blacklisted', userId: id(userId), subject: jti, reason: sessionId ? `session ${sessionId}` : null }),
  );
  events.on('refreshReuseDetected', ({ userId, sessionId, jti, context }) =>
    write({ action: 'refresh_reuse_detected', userId: id(userId), subject: jti, reason: `session ${sessionId}`, actor: 'system', ip: context.ip }),
  );
  events.on('passwordChanged', ({ userId }) => write({ action: 'password_changed', userId: String(userId), subject: null, reason: null }));

  return {
    list: (query = {}) => store.listAudit({ ...query, limit: Math.min(Math.max(query.limit ?? 50, 1), 1000) }),
    hourly: (sinceMs, actions) => store.countAuditByHour(sinceMs, actions),
  };
}
