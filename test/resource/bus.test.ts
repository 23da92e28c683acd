import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Auth, createAuth } from '../../src/auth.ts';
import { StaleRevocationStateError } from '../../src/errors.ts';
import { openStore } from '../../src/store/open.ts';
import { FAST_HASHING, SIGNING_KEY, decodePayload, tempDir } from '../helpers.ts';
import { freshPostgresSchema, postgresReachable, TEST_POSTGRES_URL } from '../support/postgres-schema.ts';
import { eventually, freePort } from '../support/processes.ts';
import { redisReachable } from '../support/services.ts';
import { SILENT, outcome, rejection, resourceServer, useCleanup } from './support.ts';

/**
 * A resource server inside the auth servers' network: `{ database, bus }` reads the revocation log at
 * start (so what was revoked before it started is known at once) and hears later revocations on the
 * bus (Redis pub/sub or PostgreSQL NOTIFY); the log poll closes any gap.
 *
 * To show that the bus carried a revocation, the resource server polls the log once a minute: within
 * a test's deadline only the bus can bring it.
 */

const REDIS = process.env.REVOCABLE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const required = process.env.REVOCABLE_REQUIRE_STORES === '1';
const postgresUp = await postgresReachable(TEST_POSTGRES_URL);
const redisUp = await redisReachable(REDIS);
for (const [name, up] of [
  ['postgres', postgresUp],
  ['redis', redisUp],
] as const) {
  if (!up) console.warn(`resource servers on the bus: ${name} NOT REACHABLE — its scenarios are skipped`);
}
if (required) {
  it('needs PostgreSQL and Redis (REVOCABLE_REQUIRE_STORES=1)', () => {
    expect({ postgres: postgresUp, redis: redisUp }).toEqual({ postgres: true, redis: true });
  });
}

const defer = useCleanup();
const DEADLINE = 15_000;
/** Only the bus can deliver within a test: the log is read at start, then once a minute. */
const BUS_ONLY = { revocationPollInterval: 60, maxRevocationStaleness: 300 };

async function sqliteDatabase(): Promise<string> {
  const dir = tempDir();
  defer(() => dir.remove());
  return `sqlite:${join(dir.path, 'auth.sqlite3')}`;
}

async function postgresDatabase(): Promise<string> {
  const schema = await freshPostgresSchema('resource');
  defer(() => schema.drop());
  return schema.url;
}

/** An auth server's core (no HTTP needed: the resource server reads the database and the bus). */
async function authOn(database: string, bus: string | undefined, channel: string): Promise<{ auth: Auth; aliceId: number }> {
  const auth = await createAuth({
    settings: { signingKey: SIGNING_KEY },
    database,
    passwordHashing: FAST_HASHING,
    logger: SILENT,
    ...(bus ? { bus, busChannel: channel } : {}),
  });
  defer(() => auth.close());
  const alice = await auth.users.create({ username: 'alice', password: 'pw' });
  return { auth, aliceId: alice.id };
}

const scenarios = [
  { name: 'SQLite file, Redis bus', database: sqliteDatabase, bus: REDIS, skip: !redisUp },
  { name: 'PostgreSQL, Redis bus', database: postgresDatabase, bus: REDIS, skip: !postgresUp || !redisUp },
  { name: 'PostgreSQL, PostgreSQL NOTIFY bus', database: postgresDatabase, bus: TEST_POSTGRES_URL, skip: !postgresUp },
];

for (const scenario of scenarios) {
  describe.skipIf(scenario.skip)(`{ database, bus }: ${scenario.name}`, () => {
    it('a revocation made before the resource server started is known at start; one made after arrives on the bus', async () => {
      const database = await scenario.database();
      const channel = `t${randomBytes(5).toString('hex')}`;
      const { auth, aliceId } = await authOn(database, scenario.bus, channel);
      const alice = (await auth.users.findByUsername('alice'))!;
      const before = await auth.issueTokens(alice);
      await auth.revokeAllForUser(aliceId);
      const [a, b, c] = [await auth.issueTokens(alice), await auth.issueTokens(alice), await auth.issueTokens(alice)];

      const server = await resourceServer({
        settings: { signingKey: SIGNING_KEY, ...BUS_ONLY },
        revocations: { database, bus: scenario.bus, busChannel: channel },
      });
      defer(() => server.close());
      // From the log, at start: no waiting.
      expect(await outcome(server, before.access)).toBe('revoked');
      for (const pair of [a, b, c]) expect(await outcome(server, pair.access)).toBe('accepted');

      await auth.blacklist(a.refresh);
      expect(await eventually(async () => (await outcome(server, a.access)) === 'revoked', DEADLINE)).toBe(true);
      expect(await outcome(server, b.access)).toBe('accepted');

      expect(await auth.revokeSession(decodePayload(b.access).sid as string)).toBe(true);
      expect(await eventually(async () => (await outcome(server, b.access)) === 'revoked', DEADLINE)).toBe(true);
      expect(await outcome(server, c.access)).toBe('accepted');

      await auth.revokeAllForUser(aliceId);
      expect(await eventually(async () => (await outcome(server, c.access)) === 'revoked', DEADLINE)).toBe(true);
      expect(await outcome(server, (await auth.issueTokens(alice)).access)).toBe('accepted');
    });

    it('a resource server on another channel hears nothing', async () => {
      const database = await scenario.database();
      const channel = `t${randomBytes(5).toString('hex')}`;
      const { auth } = await authOn(database, scenario.bus, channel);
      const alice = (await auth.users.findByUsername('alice'))!;
      const pair = await auth.issueTokens(alice);
      const listening = await resourceServer({
        settings: { signingKey: SIGNING_KEY, ...BUS_ONLY },
        revocations: { database, bus: scenario.bus, busChannel: channel },
      });
      defer(() => listening.close());
      const elsewhere = await resourceServer({
        settings: { signingKey: SIGNING_KEY, ...BUS_ONLY },
        revocations: { database, bus: scenario.bus, busChannel: `${channel}_other` },
      });
      defer(() => elsewhere.close());
      await auth.revokeSession(decodePayload(pair.access).sid as string);
      expect(await eventually(async () => (await outcome(listening, pair.access)) === 'revoked', DEADLINE)).toBe(true);
      // The same message reached the listening one: the other channel would have had it by now.
      expect(await outcome(elsewhere, pair.access)).toBe('accepted');
    });
  });
}

describe('{ database } without a bus, or with a bus that is down', () => {
  it('the log poll carries revocations', async () => {
    const database = await sqliteDatabase();
    const { auth, aliceId } = await authOn(database, undefined, 'unused');
    const alice = (await auth.users.findByUsername('alice'))!;
    const pair = await auth.issueTokens(alice);
    const server = await resourceServer({
      settings: { signingKey: SIGNING_KEY, revocationPollInterval: 0.1, maxRevocationStaleness: 30 },
      revocations: { database },
    });
    defer(() => server.close());
    expect(await outcome(server, pair.access)).toBe('accepted');
    await auth.revokeAllForUser(aliceId);
    expect(await eventually(async () => (await outcome(server, pair.access)) === 'revoked', DEADLINE)).toBe(true);
  });

  it('a Redis bus unreachable at start does not stop the resource server: the poll carries revocations', async () => {
    const database = await sqliteDatabase();
    const { auth, aliceId } = await authOn(database, undefined, 'unused');
    const alice = (await auth.users.findByUsername('alice'))!;
    const pair = await auth.issueTokens(alice);
    const server = await resourceServer({
      settings: { signingKey: SIGNING_KEY, revocationPollInterval: 0.1, maxRevocationStaleness: 30 },
      revocations: { database, bus: `redis://127.0.0.1:${await freePort()}`, busChannel: 'down' },
    });
    defer(() => server.close());
    expect(await outcome(server, pair.access)).toBe('accepted');
    await auth.revokeAllForUser(aliceId);
    expect(await eventually(async () => (await outcome(server, pair.access)) === 'revoked', DEADLINE)).toBe(true);
  });
});

describe('{ database: Store }', () => {
  it('uses the caller’s store and leaves it open on close()', async () => {
    const database = await sqliteDatabase();
    const { auth, aliceId } = await authOn(database, undefined, 'unused');
    const pair = await auth.issueTokens((await auth.users.findByUsername('alice'))!);
    await auth.revokeAllForUser(aliceId);
    const store = await openStore(database);
    defer(() => store.close());
    const server = await resourceServer({ settings: { signingKey: SIGNING_KEY }, revocations: { database: store } });
    expect(await outcome(server, pair.access)).toBe('revoked');
    await server.close();
    expect((await store.findUserById(aliceId))?.username).toBe('alice');
  });

  it('a log that cannot be read past maxRevocationStaleness makes it refuse (503), unless failOpen', async () => {
    const database = await sqliteDatabase();
    const { auth } = await authOn(database, undefined, 'unused');
    const pair = await auth.issueTokens((await auth.users.findByUsername('alice'))!);
    const store = await openStore(database);
    const settings = { signingKey: SIGNING_KEY, revocationPollInterval: 0.1, maxRevocationStaleness: 0.5 };
    const closed = await resourceServer({ settings, revocations: { database: store } });
    defer(() => closed.close());
    const open = await resourceServer({ settings: { ...settings, failOpen: true }, revocations: { database: store } });
    defer(() => open.close());
    expect(await outcome(closed, pair.access)).toBe('accepted');
    expect(await outcome(open, pair.access)).toBe('accepted');
    await store.close();
    expect(await eventually(async () => (await outcome(closed, pair.access)) === 'stale', DEADLINE)).toBe(true);
    const error = await rejection(closed.verify(pair.access));
    expect(error).toBeInstanceOf(StaleRevocationStateError);
    expect(error).toMatchObject({ status: 503, code: 'revocation_state_stale' });
    expect(await outcome(open, pair.access)).toBe('accepted');
  });
});
