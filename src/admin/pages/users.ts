import type { User } from '../../users/users.ts';
import { publicUser } from '../../users/users.ts';
import { type AdminContext, type Page, queryParam, wholeNumber } from '../context.ts';
import { formatTime, isoTime, relativeTime } from '../format.ts';
import { type Html, adminUrl, html } from '../html.ts';

export const USERS_PAGE_SIZE = 25;

/** Badges for a user's flags. */
export function userFlags(user: User): Html {
  return html`${user.isActive ? html`<span class="badge ok">active</span>` : html`<span class="badge off">inactive</span>`}${
    user.isStaff && html` <span class="badge staff">staff</span>`
  }`;
}

/** The users: a search by username substring, 25 to a page. */
export async function usersPage(ctx: AdminContext): Promise<Page> {
  const query = (queryParam(ctx.request, 'q') ?? '').trim().slice(0, 150);
  const page = Math.max(1, wholeNumber(queryParam(ctx.request, 'page'), 1));
  const offset = (page - 1) * USERS_PAGE_SIZE;
  const found = await ctx.auth.store.searchUsers({ query, offset, limit: USERS_PAGE_SIZE });
  const users = found.users.map(publicUser);
  const pages = Math.max(1, Math.ceil(found.total / USERS_PAGE_SIZE));
  const link = (target: number) => adminUrl('/users', { q: query, page: target > 1 ? target : undefined });

  const rows = users.map(
    (user) => html`<tr>
<td><a href="${adminUrl(`/users/${user.id}`)}">${user.username}</a></td>
<td class="num">${user.id}</td>
<td>${userFlags(user)}</td>
<td><time datetime="${isoTime(user.dateJoinedMs)}">${formatTime(user.dateJoinedMs)}</time></td>
<td>${user.lastLoginMs === null ? html`<span class="muted">—</span>` : html`<time datetime="${isoTime(user.lastLoginMs)}" title="${formatTime(user.lastLoginMs)}">${relativeTime(user.lastLoginMs, ctx.nowMs)}</time>`}</td>
</tr>`,
  );
  const summary =
    found.total === 0
      ? query
        ? html`No user's name contains “${query}”.`
        : html`No users yet.`
      : html`${found.total} user${found.total === 1 ? '' : 's'}${query && html` whose name contains “${query}”`}${
          pages > 1 && html`, page ${page} of ${pages}`
        }.`;

  return {
    title: 'Users',
    nav: 'users',
    body: html`<form class="search" method="get" action="/admin/users" role="search">
  <label for="q">Username contains</label>
  <input id="q" name="q" type="search" value="${query}" autocomplete="off" spellcheck="false">
  <button type="submit">Search</button>
  ${query && html`<a class="button secondary" href="/admin/users">Clear</a>`}
</form>
<p class="summary">${summary}</p>
${
  users.length > 0 &&
  html`<div class="table-wrap"><table class="users">
<thead><tr><th scope="col">Username</th><th scope="col" class="num">Id</th><th scope="col">Flags</th><th scope="col">Joined</th><th scope="col">Last login</th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>`
}
${
  pages > 1 &&
  html`<nav class="pager" aria-label="Pages">
${page > 1 ? html`<a class="button secondary" href="${link(page - 1)}" rel="prev">← Previous</a>` : ''}
<span class="muted">Page ${page} of ${pages}</span>
${page < pages ? html`<a class="button secondary" href="${link(page + 1)}" rel="next">Next →</a>` : ''}
</nav>`
}`,
  };
}
