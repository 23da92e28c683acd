import { expect, it } from 'vitest';
import type { AuditRecord } from '../../../src/store/records.ts';
import { MINUTE, type StoreContext, T0, unique } from '../support.ts';

const HOUR = 60 * MINUTE;

/** The audit trail: appended lines read back newest first, filtered, paged, and counted per hour. */
export function auditConformance(ctx: StoreContext): void {
  it('appends audit lines and lists them newest first, by user, action, time and page', async () => {
    const user = unique('audited');
    const line = (atMs: number, action: string, overrides: Partial<AuditRecord> = {}): AuditRecord => ({
      atMs,
      action,
      actor: 'staff:admin',
      userId: user,
      subject: null,
      reason: 'a reason with "quotes" and spaces',
      ip: '203.0.113.7',
      ...overrides,
    });
    await ctx.store.appendAudit([
      line(T0, 'login'),
      line(T0 + MINUTE, 'session_revoked', { subject: 'session-1', actor: 'user:1', ip: null }),
      line(T0 + 2 * MINUTE, 'user_tokens_revoked'),
    ]);
    await ctx.store.appendAudit([line(T0 + 3 * MINUTE, 'login_failed', { userId: null, subject: user })]);

    const mine = await ctx.store.listAudit({ userId: user, limit: 10 });
    expect(mine.map((record) => record.action)).toEqual(['user_tokens_revoked', 'session_revoked', 'login']);
    expect(mine[1]).toMatchObject({ atMs: T0 + MINUTE, actor: 'user:1', subject: 'session-1', ip: null, userId: user });
    expect(mine[0]?.reason).toBe('a reason with "quotes" and spaces');
    const ids = mine.map((record) => record.id as number);
    expect(ids[0]).toBeGreaterThan(ids[1] as number);

    const page = await ctx.store.listAudit({ userId: user, limit: 1, beforeId: ids[0] });
    expect(page.map((record) => record.action)).toEqual(['session_revoked']);
    const since = await ctx.store.listAudit({ userId: user, sinceMs: T0 + MINUTE, actions: ['login', 'user_tokens_revoked'], limit: 10 });
    expect(since.map((record) => record.action)).toEqual(['user_tokens_revoked']);
    const failed = await ctx.store.listAudit({ actions: ['login_failed'], sinceMs: T0, limit: 1000 });
    expect(failed.some((record) => record.subject === user && record.userId === null)).toBe(true);
  });

  it('counts audit lines per hour and action', async () => {
    // A day of its own, far from the other tests' times, so the counts are this test's alone.
    const start = T0 + 400 * 24 * HOUR;
    const user = unique('hourly');
    const line = (atMs: number, action: string): AuditRecord => ({
      atMs,
      action,
      actor: 'system',
      userId: user,
      subject: null,
      reason: null,
      ip: null,
    });
    await ctx.store.appendAudit([
      line(start + 5 * MINUTE, 'login'),
      line(start + 59 * MINUTE, 'login'),
      line(start + HOUR, 'login'),
      line(start + HOUR + MINUTE, 'user_tokens_revoked'),
      line(start + 2 * HOUR, 'password_changed'),
    ]);
    const counts = await ctx.store.countAuditByHour(start, ['login', 'user_tokens_revoked']);
    const sorted = [...counts].sort((a, b) => a.hourMs - b.hourMs || a.action.localeCompare(b.action));
    expect(sorted).toEqual([
      { hourMs: start, action: 'login', count: 2 },
      { hourMs: start + HOUR, action: 'login', count: 1 },
      { hourMs: start + HOUR, action: 'user_tokens_revoked', count: 1 },
    ]);
    expect(await ctx.store.countAuditByHour(start, [])).toEqual([]);
  });
}
