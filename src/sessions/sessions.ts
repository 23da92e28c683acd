import type { Core } from '../core.ts';

/** A session as its user sees it (`GET /api/sessions/`, `auth.listSessions`). */
export interface SessionInfo {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  userAgent: string | null;
  ip: string | null;
}

/** The user's live sessions, most recently used first. */
export async function listSessions(core: Core, userId: string | number): Promise<SessionInfo[]> {
  const sessions = await core.store.listSessions(String(userId), core.clock());
  return sessions.map((session) => ({
    id: session.id,
    createdAt: new Date(session.createdAtMs),
    lastUsedAt: new Date(session.lastUsedAtMs),
    userAgent: session.userAgent,
    ip: session.ip,
  }));
}
