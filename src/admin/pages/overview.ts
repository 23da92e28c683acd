import { REVOCATION_ACTIONS } from '../../audit/audit.ts';
import { type HourCounts, hourlyChart } from '../chart.ts';
import type { AdminContext, Page } from '../context.ts';
import { adminUrl, html } from '../html.ts';
import { auditTable, usersOfClaims } from './revocations.ts';

const HOUR = 3_600_000;

/** The overview: the last 24 hours in figures and as a chart, and the latest revocations. */
export async function overviewPage(ctx: AdminContext): Promise<Page> {
  // 24 hourly buckets, the current (partial) hour last.
  const firstHour = Math.floor(ctx.nowMs / HOUR) * HOUR - 23 * HOUR;
  const counts = await ctx.auth.audit.hourly(firstHour, ['login', 'login_failed', ...REVOCATION_ACTIONS]);
  const hours: HourCounts[] = Array.from({ length: 24 }, (_, index) => ({ hourMs: firstHour + index * HOUR, logins: 0, revocations: 0 }));
  let failed = 0;
  for (const count of counts) {
    if (count.action === 'login_failed') {
      failed += count.count;
      continue;
    }
    const hour = hours[Math.floor((count.hourMs - firstHour) / HOUR)];
    if (!hour) continue;
    if (count.action === 'login') hour.logins += count.count;
    else hour.revocations += count.count;
  }
  const logins = hours.reduce((sum, hour) => sum + hour.logins, 0);
  const revocations = hours.reduce((sum, hour) => sum + hour.revocations, 0);
  const { total: users } = await ctx.auth.store.searchUsers({ query: '', offset: 0, limit: 0 });
  const latest = await ctx.auth.audit.list({ actions: REVOCATION_ACTIONS, limit: 5 });
  const named = await usersOfClaims(
    ctx.auth,
    latest.map((record) => record.userId),
  );
  const stat = (label: string, value: number, href?: string) =>
    html`<div class="stat">${href ? html`<a href="${href}"><span class="value">${value}</span></a>` : html`<span class="value">${value}</span>`}<span class="label">${label}</span></div>`;

  return {
    title: 'Overview',
    nav: 'overview',
    body: html`<section class="stats" aria-label="Last 24 hours">
${stat('users', users, adminUrl('/users'))}
${stat('logins, last 24 h', logins)}
${stat('failed logins, last 24 h', failed)}
${stat('revocations, last 24 h', revocations, adminUrl('/revocations'))}
</section>
<section class="card">
<h2>Logins and revocations per hour</h2>
${hourlyChart(hours)}
</section>
<section class="card">
<h2>Latest revocations</h2>
${auditTable(latest, named, ctx.nowMs)}
<p><a href="${adminUrl('/revocations')}">All recent revocations →</a></p>
</section>`,
  };
}
