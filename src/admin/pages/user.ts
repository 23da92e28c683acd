import type { SessionInfo } from '../../sessions/sessions.ts';
import type { SessionRecord } from '../../store/records.ts';
import { userIdClaimOf } from '../../tokens/issue.ts';
import type { User } from '../../users/users.ts';
import { type AdminContext, type Page, routeParam, wholeNumber } from '../context.ts';
import { describeDevice, formatTime, isoTime, relativeTime, shortId } from '../format.ts';
import { type Html, adminUrl, html } from '../html.ts';
import { auditTable } from './revocations.ts';
import { userFlags } from './users.ts';

/** How many ended sessions (revoked, expired) the page shows beside the live ones. */
const ENDED_SHOWN = 10;

/** One row of the sessions table. */
interface SessionRow {
  id: string;
  userAgent: string | null;
  ip: string | null;
  createdAtMs: number;
  lastUsedAtMs: number;
  state: 'live' | 'revoked' | 'expired';
  /** For an ended session: why and when. */
  detail?: string;
}

/** What the notices after an action say (`?done=`); fixed texts, nothing from the request is echoed. */
export const USER_NOTICES: Record<string, string> = {
  'session-revoked': 'The session was revoked: its refresh and access tokens are refused from now on.',
  'session-gone': 'That session had already ended.',
  'revoked-all': 'Every token of this user was revoked, access tokens included.',
  deactivated: 'The user was deactivated and every token of the user revoked.',
  activated: 'The user was activated: they can log in again.',
  'not-yourself': 'You cannot deactivate your own account here.',
};

/** The user's live sessions (the library's predicate) and their recently ended ones (the store's rows). */
async function sessionRows(ctx: AdminContext, user: User): Promise<SessionRow[]> {
  const key = String(userIdClaimOf(ctx.auth.settings, user));
  const [live, recent, generation] = await Promise.all([
    ctx.auth.listSessions(user.id),
    ctx.auth.store.recentSessions(key, 50),
    ctx.auth.store.userGeneration(key),
  ]);
  const liveIds = new Set(live.map((session) => session.id));
  const liveRows = live.map(
    (session: SessionInfo): SessionRow => ({
      id: session.id,
      userAgent: session.userAgent,
      ip: session.ip,
      createdAtMs: session.createdAt.getTime(),
      lastUsedAtMs: session.lastUsedAt.getTime(),
      state: 'live',
    }),
  );
  const ended = recent
    .filter((session) => !liveIds.has(session.id))
    .slice(0, ENDED_SHOWN)
    .map((session: SessionRecord): SessionRow => {
      const base = {
        id: session.id,
        userAgent: session.userAgent,
        ip: session.ip,
        createdAtMs: session.createdAtMs,
        lastUsedAtMs: session.lastUsedAtMs,
      };
      if (session.revokedAtMs !== null) {
        return { ...base, state: 'revoked', detail: `${session.revokedReason ?? 'revoked'}, ${formatTime(session.revokedAtMs)}` };
      }
      if (session.generation < generation) return { ...base, state: 'revoked', detail: 'every token of the user revoked' };
      return { ...base, state: 'expired', detail: `expired ${formatTime(session.expiresAtMs)}` };
    });
  return [...liveRows, ...ended];
}

function sessionsTable(ctx: AdminContext, user: User, rows: SessionRow[]): Html {
  if (rows.length === 0) return html`<p class="empty">No sessions.</p>`;
  return html`<div class="table-wrap"><table class="sessions">
<thead><tr><th scope="col">Device</th><th scope="col">IP</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>
${rows.map((row) => {
  const mine = row.id === ctx.staff.sessionId;
  const action =
    row.state === 'live' &&
    html`<form method="post" action="${adminUrl(`/users/${user.id}/sessions/${encodeURIComponent(row.id)}/revoke`)}">
<input type="hidden" name="csrf" value="${ctx.csrf}">
<button type="submit" class="small danger" aria-label="Revoke session ${shortId(row.id)}">Revoke</button>
</form>`;
  return html`<tr class="${row.state}">
<td><span class="device" title="${row.userAgent ?? ''}">${describeDevice(row.userAgent)}</span>${mine && html` <span class="badge staff">this admin session</span>`}<br><code class="id" title="${row.id}">${shortId(row.id)}</code></td>
<td>${row.ip ?? html`<span class="muted">—</span>`}</td>
<td><time datetime="${isoTime(row.createdAtMs)}">${formatTime(row.createdAtMs)}</time></td>
<td><time datetime="${isoTime(row.lastUsedAtMs)}" title="${formatTime(row.lastUsedAtMs)}">${relativeTime(row.lastUsedAtMs, ctx.nowMs)}</time></td>
<td><span class="badge ${row.state === 'live' ? 'ok' : 'off'}">${row.state}</span>${row.detail && html`<br><span class="muted small">${row.detail}</span>`}</td>
<td>${action}</td>
</tr>`;
})}
</tbody>
</table></div>`;
}

/** One user: facts, sessions (live and recently ended) with revoke buttons, revoke all, (de)activate, recent activity. */
export async function userPage(ctx: AdminContext): Promise<Page | undefined> {
  const id = wholeNumber(routeParam(ctx.request, 'id'), -1);
  const user = id < 0 ? undefined : await ctx.auth.users.findById(id);
  if (!user) return undefined;
  const rows = await sessionRows(ctx, user);
  const liveCount = rows.filter((row) => row.state === 'live').length;
  const activity = await ctx.auth.audit.list({ userId: String(userIdClaimOf(ctx.auth.settings, user)), limit: 15 });
  const yourself = user.id === ctx.staff.user.id;
  const csrfField = html`<input type="hidden" name="csrf" value="${ctx.csrf}">`;

  const activation = user.isActive
    ? yourself
      ? html`<p class="muted small">You cannot deactivate your own account.</p>`
      : html`<form class="action" method="post" action="${adminUrl(`/users/${user.id}/deactivate`)}">
${csrfField}
<p>Deactivate: the user can no longer log in, and every token of the user is revoked.</p>
<button type="submit" class="danger">Deactivate user</button>
</form>`
    : html`<form class="action" method="post" action="${adminUrl(`/users/${user.id}/activate`)}">
${csrfField}
<p>The user is inactive and cannot log in.</p>
<button type="submit">Activate user</button>
</form>`;

  return {
    title: user.username,
    nav: 'users',
    body: html`<p class="crumbs"><a href="${adminUrl('/users')}">Users</a> / <span>${user.username}</span></p>
<section class="card facts">
<dl>
<dt>Id</dt><dd>${user.id}</dd>
<dt>Flags</dt><dd>${userFlags(user)}</dd>
<dt>Joined</dt><dd>${formatTime(user.dateJoinedMs)}</dd>
<dt>Last login</dt><dd>${user.lastLoginMs === null ? html`<span class="muted">not recorded</span>` : formatTime(user.lastLoginMs)}</dd>
<dt>Live sessions</dt><dd>${liveCount}</dd>
</dl>
</section>
<section class="card">
<h2>Sessions</h2>
${sessionsTable(ctx, user, rows)}
</section>
<section class="card actions">
<h2>Revoke access</h2>
<form class="action" method="post" action="${adminUrl(`/users/${user.id}/revoke-all`)}">
${csrfField}
<p>Revoke every token of ${user.username}: every session ends and access tokens already issued are refused on their next request.${yourself ? ' This ends your admin session too.' : ''}</p>
<label for="reason">Reason <span class="muted">(recorded in the audit trail)</span></label>
<input id="reason" name="reason" type="text" maxlength="120" placeholder="e.g. laptop stolen">
<button type="submit" class="danger">Revoke all sessions</button>
</form>
${activation}
</section>
<section class="card">
<h2>Recent activity</h2>
${auditTable(activity, new Map([[String(userIdClaimOf(ctx.auth.settings, user)), user]]), ctx.nowMs, { showUser: false })}
</section>`,
  };
}
