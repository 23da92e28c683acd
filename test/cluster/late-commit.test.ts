import { afterAll, describe, expect, it } from 'vitest';
import { TokenError } from '../../src/errors.ts';
import { SIGNING_KEY, accepted, decodePayload, testAuth } from '../helpers.ts';
import { signLikeSimpleJwt, simpleJwtClaims } from '../support/foreign-token.ts';
import { freshPostgresSchema, postgresReachable } from '../support/postgres-schema.ts';

/**
 * On PostgreSQL a revocation can take a log number, wait on a row lock, and commit after another
 * instance has read past a higher number. That instance must still see it.
 */

const postgresUp = await postgresReachable();
if (!postgresUp) console.warn('late commit test: PostgreSQL NOT REACHABLE — skipped');
if (process.env.REVOCABLE_REQUIRE_STORES === '1') {
  it('needs PostgreSQL (REVOCABLE_REQUIRE_STORES=1)', () => expect(postgresUp).toBe(true));
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe.skipIf(!postgresUp)('a revocation committed after a higher log number', () => {
  it('reaches an instance whose poll already read past it', async () => {
    const schema = await freshPostgresSchema('late');
    cleanups.push(() => schema.drop());
    // A's clock runs 10 s behind B's: nothing may depend on the writer's clock to find late commits.
    const a = await testAuth({ database: schema.url, clock: () => Date.now() - 10_000 });
    const b = await testAuth({ database: schema.url, revocationPollIntervalMs: 0 });
    cleanups.push(async () => {
      await a.close();
      await b.close();
    });
    const alice = await a.users.create({ username: 'alice', password: 'pw' });
    const bob = await a.users.create({ username: 'bob', password: 'pw' });
    const kept = await a.issueTokens(alice);
    const first = await a.issueTokens(alice);
    const second = await a.issueTokens(alice);
    const bobs = await a.issueTokens(bob);
    const sid = (token: string) => String(decodePayload(token).sid);

    // A stalled transaction holds one of the sessions revokeOtherSessions will revoke.
    const { default: pg } = await import('pg');
    const holder = new pg.Client({ connectionString: schema.url });
    await holder.connect();
    const order = (
      await holder.query('select id from sessions where user_id = $1 and id <> $2 and revoked_at_ms is null', [
        String(alice.id),
        sid(kept.access),
      ])
    ).rows.map((row: { id: string }) => row.id);
    await holder.query('begin');
    await holder.query('select * from sessions where id = $1 for update', [order[1]]);
    const revoking = a.revokeOtherSessions(alice.id, sid(kept.access));
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Meanwhile another revocation commits, and B reads past it.
    await a.logout(a.verifyAccess(bobs.access));
    await b.syncRevocations();
    expect(accepted(b, bobs.access)).toBe(false);

    await holder.query('commit');
    await holder.end();
    expect(await revoking).toBe(2);
    await b.syncRevocations();
    for (const pair of [first, second]) expect(accepted(b, pair.access)).toBe(false);
    expect(accepted(b, kept.access)).toBe(true);
  }, 30_000);

  it('two first presentations of one Simple JWT refresh token at once: one new pair, no server error', async () => {
    const schema = await freshPostgresSchema('adopt');
    cleanups.push(() => schema.drop());
    const auth = await testAuth({
      database: schema.url,
      settings: { acceptUntrackedRefreshTokens: true, rotateRefreshTokens: true, reuseGraceSeconds: 10 },
    });
    cleanups.push(() => auth.close());
    const alice = await auth.users.create({ username: 'alice', password: 'pw' });
    const fromDjango = signLikeSimpleJwt(simpleJwtClaims('refresh', alice.id, Math.floor(Date.now() / 1000), 86400), SIGNING_KEY);
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => auth.refresh(fromDjango)));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(TokenError);
    }
  }, 30_000);
});
