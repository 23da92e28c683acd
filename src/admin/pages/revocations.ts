import { REVOCATION_ACTIONS } from '../../audit/audit.ts';
import type { Auth } from '../../auth.ts';
import type { AuditRecord } from '../../store/records.ts';
import type { User } from '../../users/users.ts';
import { type AdminContext, type Page, queryParam, wholeNumber } from '../context.ts';
import { describeAction, formatTime, isoTime, relativeTime, shortId } from '../format.ts';
import { type Html, adminUrl, html } from '../html.ts';

const PAGE_SIZE = 50;

/** The users audit lines name (by their user id claim: the id, or the username), looked up once each. */
export async function usersOfClaims(auth: Auth, claims: (string | null)[]): Promise<Map<string, User>> {
  const found = new Map<string, User>();
  for (const claim of new Set(claims)) {
    if (claim === null) continue;
    const user =
      auth.settings.userIdField === 'username'
        ? await auth.users.findByUsername(claim)
        : /^\d{1,15}$/.test(claim)
          ? await auth.users.findById(Number(claim))
          : undefined;
    if (user) found.set(claim, user);
  }
  return found;
}

/** Audit lines as a table: who (actor), what (action, subject, user), why (reason), when, from where. */
export function auditTable(records: AuditRecord[], users: Map<string, User>, nowMs: number, options: { showUser?: boolean } = {}): Html {
  if (records.length === 0) return html`<p class="empty">Nothing recorded yet.</p>`;
  const showUser = options.showUser ?? true;
  return html`<div class="table-wrap"><table class="audit">
<thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th>${showUser && html`<th scope="col">User</th>`}<th scope="col">Why</th><th scope="col">IP</th></tr></thead>
<tbody>
${records.map((record) => {
  const user = record.userId === null ? undefined : users.get(record.userId);
  const userCell = user
    ? html`<a href="${adminUrl(`/users/${user.id}`)}">${user.username}</a>`
    : record.userId === null
      ? html`<span class="muted">—</span>`
      : html`<span class="muted">${record.userId} (deleted)</span>`;
  return html`<tr>
<td><time datetime="${isoTime(record.atMs)}" title="${formatTime(record.atMs)}">${relativeTime(record.atMs, nowMs)}</time></td>
<td><code>${record.actor}</code></td>
<td><span class="action ${record.action}">${describeAction(record.action)}</span>${record.subject && html` <code class="id" title="${record.subject}">${shortId(record.subject)}</code>`}</td>
${showUser && html`<td>${userCell}</td>`}
<td>${record.reason ?? html`<span class="muted">—</span>`}</td>
<td>${record.ip ?? html`<span class="muted">—</span>`}</td>
</tr>`;
})}
</tbody>
</table></div>`;
}

/** Recent revocations, newest first, a page of 50 at a time (`before` pages back). */
export async function revocationsPage(ctx: AdminContext): Promise<Page> {
  const beforeId = wholeNumber(queryParam(ctx.request, 'before'), 0) || undefined;
  const records = await ctx.auth.audit.list({ actions: REVOCATION_ACTIONS, limit: PAGE_SIZE, ...(beforeId ? { beforeId } : {}) });
  const users = await usersOfClaims(
    ctx.auth,
    records.map((record) => record.userId),
  );
  const last = records.at(-1)?.id;
  const older = records.length === PAGE_SIZE && last !== undefined && html`<a class="button secondary" href="${adminUrl('/revocations', { before: last })}">Older →</a>`;
  const newest = beforeId !== undefined && html`<a class="button secondary" href="${adminUrl('/revocations')}">← Newest</a>`;
  return {
    title: 'Recent revocations',
    nav: 'revocations',
    body: html`<p class="lead">Every revocation, by whom and why: sessions revoked, every token of a user revoked, tokens blacklisted (logouts), refresh token reuse. Times are UTC.</p>
${auditTable(records, users, ctx.nowMs)}
${(older || newest) && html`<nav class="pager" aria-label="Pages">${newest}${older}</nav>`}`,
  };
}
