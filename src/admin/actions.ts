import { userIdClaimOf } from '../tokens/issue.ts';
import type { User } from '../users/users.ts';
import { type AdminContext, routeParam, wholeNumber } from './context.ts';
import { textField } from './form.ts';
import { adminUrl } from './html.ts';

/**
 * What the admin's buttons do. Each runs inside `auth.runAs({ actor: 'staff:<username>', ip })` (the
 * plugin sees to it), so the audit trail names the admin, and each revocation carries a reason that
 * starts with `admin:`. Each answers where to go next (a page with a fixed notice, `?done=`).
 */
export type AdminAction = (ctx: AdminContext, form: URLSearchParams) => Promise<string | undefined>;

/** The user the route's `:id` names, or undefined (answered 404). */
async function targetUser(ctx: AdminContext): Promise<User | undefined> {
  const id = wholeNumber(routeParam(ctx.request, 'id'), -1);
  return id < 0 ? undefined : ctx.auth.users.findById(id);
}

const done = (user: User, outcome: string) => adminUrl(`/users/${user.id}`, { done: outcome });

/** Revokes one live session of the user (a session of another user is "not found"). */
export const revokeSessionAction: AdminAction = async (ctx) => {
  const user = await targetUser(ctx);
  if (!user) return undefined;
  const sessionId = routeParam(ctx.request, 'sessionId');
  const session = sessionId ? await ctx.auth.store.findSession(sessionId) : undefined;
  if (!session || session.userId !== String(userIdClaimOf(ctx.auth.settings, user))) return undefined;
  const revoked = await ctx.auth.revokeSession(sessionId, { reason: 'admin: revoke session' });
  return done(user, revoked ? 'session-revoked' : 'session-gone');
};

/** Revokes every token of the user, with the reason typed in the form. */
export const revokeAllAction: AdminAction = async (ctx, form) => {
  const user = await targetUser(ctx);
  if (!user) return undefined;
  const given = textField(form, 'reason', 120);
  await ctx.auth.revokeAllForUser(user.id, { reason: given ? `admin: ${given}` : 'admin: revoke all' });
  return done(user, 'revoked-all');
};

/** Deactivates the user (every token revoked in the same transaction); never oneself. */
export const deactivateAction: AdminAction = async (ctx) => {
  const user = await targetUser(ctx);
  if (!user) return undefined;
  if (user.id === ctx.staff.user.id) return done(user, 'not-yourself');
  await ctx.auth.users.setActive(user.id, false);
  return done(user, 'deactivated');
};

export const activateAction: AdminAction = async (ctx) => {
  const user = await targetUser(ctx);
  if (!user) return undefined;
  await ctx.auth.users.setActive(user.id, true);
  return done(user, 'activated');
};
