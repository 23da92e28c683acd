/**
 * Login throttling: failures per username and per address, every attempt per address, 429 with
 * `Retry-After` and DRF's message, checked before the password; on one instance (memory, on the
 * injected clock) and across two instances sharing Redis.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Auth, type AuthOptions, createAuth } from '../src/auth.ts';
import { readConfig } from '../src/cli/config.ts';
import type { Clock } from '../src/clock.ts';
import { SettingsError, ThrottledError } from '../src/errors.ts';
import { buildServer } from '../src/http/fastify.ts';
import type { SettingsInput } from '../src/settings/settings.ts';
import { openStore } from '../src/store/open.ts';
import type { Store } from '../src/store/store.ts';
import { memoryThrottleStore } from '../src/throttle/memory.ts';
import { addressKey, usernameKey } from '../src/throttle/throttle.ts';
import { FAST_HASHING, SIGNING_KEY, clockAt, tempDir } from './helpers.ts';
import { redisReachable } from './support/services.ts';

const REDIS = process.env.REVOCABLE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const required = process.env.REVOCABLE_REQUIRE_STORES === '1';
const redisUp = await redisReachable(REDIS);
if (!redisUp) console.warn('throttle: Redis NOT REACHABLE, its scenarios are skipped');
/** Keys of this run only: `<prefix>:throttle:…`. */
const RUN_PREFIX = `throttle_test_${randomBytes(5).toString('hex')}`;

const THROTTLED = (seconds: number) =>
  JSON.stringify({
    detail: `Request was throttled. Expected available in ${seconds} second${seconds === 1 ? '' : 's'}.`,
    code: 'throttled',
  });
const NO_ACCOUNT = JSON.stringify({ detail: 'No active account found with the given credentials' });
const silent = { error: () => {}, warn: () => {} };

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function server(
  settings: Partial<SettingsInput> = {},
  options: Partial<AuthOptions> & { clock?: Clock } = {},
): Promise<{ auth: Auth; app: FastifyInstance }> {
  const auth = await createAuth({
    settings: { signingKey: SIGNING_KEY, ...settings },
    database: ':memory:',
    passwordHashing: FAST_HASHING,
    logger: silent,
    ...options,
  });
  const app = await buildServer(auth);
  closers.push(() => auth.close(), () => app.close());
  await auth.users.create({ username: 'alice', password: 'right' });
  await auth.users.create({ username: 'bob', password: 'right' });
  return { auth, app };
}

function attempt(
  app: FastifyInstance,
  username: string,
  password: string,
  ip = '203.0.113.7',
  url = '/api/token/',
): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url, payload: { username, password }, remoteAddress: ip });
}

function expectThrottled(res: LightMyRequestResponse, seconds: number): void {
  expect({ status: res.statusCode, body: res.body, retryAfter: res.headers['retry-after'] }).toEqual({
    status: 429,
    body: THROTTLED(seconds),
    retryAfter: String(seconds),
  });
  expect(res.headers['content-type']).toBe('application/json');
  expect(res.headers['www-authenticate']).toBeUndefined();
}

async function fail(app: FastifyInstance, times: number, username: string, ip?: string): Promise<void> {
  for (let i = 0; i < times; i++) {
    const res = await attempt(app, username, `wrong ${i}`, ip);
    expect({ status: res.statusCode, body: res.body }).toEqual({ status: 401, body: NO_ACCOUNT });
  }
}

describe('throttling on one instance', () => {
  it('per username: the failure limit answers 429 with Retry-After and DRF’s message, whatever the address', async () => {
    const clock = clockAt();
    const { app } = await server({ loginFailuresPerUsername: 3, loginFailureWindow: '15m' }, { clock });
    await fail(app, 3, 'alice', '198.51.100.1');
    clock.advance(100_000);
    expectThrottled(await attempt(app, 'alice', 'wrong', '198.51.100.2'), 800);
    // From a fresh address too: the limit is the username's.
    expectThrottled(await attempt(app, 'alice', 'right', '192.0.2.99'), 800);
    // The sliding login shares the budget.
    expectThrottled(await attempt(app, 'alice', 'right', '192.0.2.99', '/api/token/sliding/'), 800);
    // Another username from the same address is not throttled.
    expect((await attempt(app, 'bob', 'right', '198.51.100.1')).statusCode).toBe(200);
  });

  it('after the window the user logs in again, and Retry-After counts down to 1', async () => {
    const clock = clockAt();
    const { app } = await server({ loginFailuresPerUsername: 2, loginFailureWindow: 60 }, { clock });
    await fail(app, 2, 'alice');
    expectThrottled(await attempt(app, 'alice', 'right'), 60);
    clock.advance(59_500);
    expectThrottled(await attempt(app, 'alice', 'right'), 1);
    clock.advance(500);
    expect((await attempt(app, 'alice', 'right')).statusCode).toBe(200);
  });

  it('counts usernames by NFKC and case: Alice, ALICE and full-width alice share one budget', async () => {
    const { app } = await server({ loginFailuresPerUsername: 3 });
    await fail(app, 1, 'Alice');
    await fail(app, 1, 'ALICE');
    await fail(app, 1, 'ａｌｉｃｅ');
    expect((await attempt(app, 'alice', 'right')).statusCode).toBe(429);
  });

  it('a success forgets the username’s failures (not the address’s)', async () => {
    const { app } = await server({ loginFailuresPerUsername: 3, loginFailuresPerIp: 5 });
    await fail(app, 2, 'alice');
    expect((await attempt(app, 'alice', 'right')).statusCode).toBe(200);
    await fail(app, 2, 'alice');
    expect((await attempt(app, 'alice', 'right')).statusCode).toBe(200);
    // Four failures from this address so far, none forgotten: one more reaches its limit.
    await fail(app, 1, 'bob');
    expect((await attempt(app, 'bob', 'right')).statusCode).toBe(429);
  });

  it('per address: other usernames are allowed until the address’s failure limit, then none', async () => {
    const clock = clockAt();
    const { app } = await server({ loginFailuresPerUsername: 3, loginFailuresPerIp: 7 }, { clock });
    const ip = '198.51.100.23';
    // Seven failures spread over usernames that never reach their own limit.
    for (const name of ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7']) await fail(app, 1, name, ip);
    expectThrottled(await attempt(app, 'alice', 'right', ip), 900);
    expectThrottled(await attempt(app, 'bob', 'right', ip, '/api/token/sliding/'), 900);
    // Other addresses are unaffected, and so are alice and bob.
    expect((await attempt(app, 'alice', 'right', '198.51.100.24')).statusCode).toBe(200);
    clock.advance(900_000);
    expect((await attempt(app, 'bob', 'right', ip)).statusCode).toBe(200);
  });

  it('an IPv6 address is counted by its /64; an IPv4-mapped one as IPv4', async () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002::')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('::ffff:192.0.2.5')).toBe('192.0.2.5');
    expect(addressKey('::ffff:c000:205')).toBe('192.0.2.5');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('192.0.2.5')).toBe('192.0.2.5');
    expect(usernameKey('Alice')).toBe(usernameKey('alice'));
    expect(usernameKey('alice')).not.toBe(usernameKey('alice2'));

    const { app } = await server({ loginFailuresPerUsername: 0, loginFailuresPerIp: 2 });
    await fail(app, 1, 'u1', '2001:db8:1:2::10');
    await fail(app, 1, 'u2', '2001:db8:1:2::20');
    expect((await attempt(app, 'alice', 'right', '2001:db8:1:2::30')).statusCode).toBe(429);
    expect((await attempt(app, 'alice', 'right', '2001:db8:1:3::30')).statusCode).toBe(200);
  });

  it('every attempt per address: correct logins too, only at the (generous) limit', async () => {
    const clock = clockAt();
    const { app } = await server({ loginAttemptsPerIp: 20, loginAttemptWindow: '1m' }, { clock });
    for (let i = 0; i < 20; i++) {
      const res = await attempt(app, i % 2 ? 'alice' : 'bob', 'right', '192.0.2.1');
      expect(res.statusCode, `attempt ${i + 1}`).toBe(200);
    }
    expectThrottled(await attempt(app, 'alice', 'right', '192.0.2.1'), 60);
    expect((await attempt(app, 'alice', 'right', '192.0.2.2')).statusCode).toBe(200);
    clock.advance(60_000);
    expect((await attempt(app, 'alice', 'right', '192.0.2.1')).statusCode).toBe(200);
  });

  it('with the default settings, 300 correct logins from one address within a minute are never throttled', async () => {
    const { app } = await server();
    for (let i = 0; i < 300; i++) {
      const res = await attempt(app, i % 2 ? 'alice' : 'bob', 'right', '127.0.0.1');
      expect(res.statusCode, `login ${i + 1}: ${res.body}`).toBe(200);
    }
  });

  it('a throttled attempt does not look the user up nor verify the password, and emits no loginFailed', async () => {
    const real = await openStore(':memory:');
    closers.push(() => real.close());
    let lookups = 0;
    const store = new Proxy(real, {
      get(target, name, receiver) {
        if (name === 'findUserByUsername') lookups += 1;
        return Reflect.get(target, name, receiver);
      },
    }) as Store;
    const { auth, app } = await server({ loginFailuresPerUsername: 2 }, { database: store });
    let failures = 0;
    auth.on('loginFailed', () => {
      failures += 1;
    });
    await fail(app, 2, 'alice');
    expect({ lookups, failures }).toEqual({ lookups: 2, failures: 2 });
    for (let i = 0; i < 5; i++) expect((await attempt(app, 'alice', 'right')).statusCode).toBe(429);
    expect({ lookups, failures }).toEqual({ lookups: 2, failures: 2 });
  });

  it('concurrent guesses cannot slip past the limit: exactly `limit` of them are verified', async () => {
    const { app } = await server({ loginFailuresPerUsername: 5 });
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => attempt(app, 'alice', `guess ${i}`)));
    const statuses = answers.map((res) => res.statusCode).sort();
    expect(statuses.filter((status) => status === 401)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(25);
  });

  it('the library throttles too: per username without an address, ThrottledError with retryAfterSeconds', async () => {
    const { auth } = await server({ loginFailuresPerUsername: 2, loginFailuresPerIp: 1 });
    for (let i = 0; i < 2; i++) await expect(auth.obtainTokens('alice', 'wrong')).rejects.toMatchObject({ status: 401 });
    const refused = await auth.obtainSlidingToken('alice', 'right').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ThrottledError);
    expect(refused).toMatchObject({ status: 429, code: 'throttled', retryAfterSeconds: 900 });
  });

  it('0 turns a limit off', async () => {
    const { app } = await server({ loginFailuresPerUsername: 0, loginFailuresPerIp: 0, loginAttemptsPerIp: 0 });
    await fail(app, 30, 'alice');
    expect((await attempt(app, 'alice', 'right')).statusCode).toBe(200);
  });

  it('settings are validated: whole numbers of zero or more, positive windows', async () => {
    for (const [settings, setting] of [
      [{ loginFailuresPerUsername: -1 }, 'loginFailuresPerUsername'],
      [{ loginFailuresPerIp: 1.5 }, 'loginFailuresPerIp'],
      [{ loginAttemptsPerIp: '10' }, 'loginAttemptsPerIp'],
      [{ loginFailureWindow: 0 }, 'loginFailureWindow'],
      [{ loginAttemptWindow: 'soon' }, 'loginAttemptWindow'],
    ] as const) {
      const error = await createAuth({
        settings: { signingKey: SIGNING_KEY, ...(settings as object) },
        database: ':memory:',
        logger: silent,
      }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SettingsError);
      expect(error).toMatchObject({ setting });
    }
    await expect(
      createAuth({ settings: { signingKey: SIGNING_KEY }, database: ':memory:', throttle: 'mongodb://x', logger: silent }),
    ).rejects.toMatchObject({ setting: 'throttle' });
  });

  it('the CLI reads the limits from the environment, and counts in Redis when REDIS_URL is set', () => {
    const config = readConfig({
      REVOCABLE_LOGIN_FAILURES_PER_USERNAME: '5',
      REVOCABLE_LOGIN_FAILURES_PER_IP: '0',
      REVOCABLE_LOGIN_FAILURE_WINDOW: '10m',
      REVOCABLE_LOGIN_ATTEMPTS_PER_IP: '5000',
      REVOCABLE_LOGIN_ATTEMPT_WINDOW: '30s',
      REDIS_URL: 'redis://cache:6379',
    });
    expect(config.settings).toMatchObject({
      loginFailuresPerUsername: 5,
      loginFailuresPerIp: 0,
      loginFailureWindow: '10m',
      loginAttemptsPerIp: 5000,
      loginAttemptWindow: '30s',
    });
    expect(config.throttleUrl).toBe('redis://cache:6379');
    expect(readConfig({}).throttleUrl).toBeUndefined();
    expect(() => readConfig({ REVOCABLE_LOGIN_ATTEMPTS_PER_IP: 'lots' })).toThrow(
      'Invalid setting "REVOCABLE_LOGIN_ATTEMPTS_PER_IP": must be a whole number (0 turns the limit off), got "lots"',
    );
  });

  it('a throttle store handed in is shared, and stays the caller’s to close', async () => {
    const clock = clockAt();
    const shared = memoryThrottleStore({ clock });
    const one = await server({ loginFailuresPerUsername: 4 }, { clock, throttle: shared });
    const two = await server({ loginFailuresPerUsername: 4 }, { clock, throttle: shared });
    await fail(one.app, 2, 'alice');
    await fail(two.app, 2, 'alice');
    expectThrottled(await attempt(one.app, 'alice', 'right'), 900);
    expectThrottled(await attempt(two.app, 'alice', 'right'), 900);
    await one.auth.close();
    expectThrottled(await attempt(two.app, 'alice', 'right'), 900);
  });
});

describe.skipIf(!redisUp && !required)('throttling across two instances sharing Redis', () => {
  const dir = tempDir();
  afterAll(async () => {
    dir.remove();
    // This run's counters, rather than leave them to expire.
    const { Redis } = await import('ioredis');
    const redis = new Redis(REDIS, { maxRetriesPerRequest: 1 });
    try {
      const keys = await redis.keys(`${RUN_PREFIX}_*`);
      if (keys.length) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  });

  it('is reachable (REVOCABLE_REQUIRE_STORES=1 demands it)', () => {
    expect(redisUp).toBe(true);
  });

  /** Two instances on one SQLite file, both counting in Redis under one prefix of this run. */
  async function pair(settings: Partial<SettingsInput>, prefix: string) {
    const database = `sqlite:${join(dir.path, `${prefix}.db`)}`;
    const options = { throttle: REDIS, busChannel: prefix, database };
    const one = await server(settings, options);
    const auth = await createAuth({
      settings: { signingKey: SIGNING_KEY, ...settings },
      passwordHashing: FAST_HASHING,
      logger: silent,
      ...options,
    });
    const app = await buildServer(auth);
    closers.push(() => auth.close(), () => app.close());
    return [one.app, app] as const;
  }
  let runs = 0;
  const prefix = () => `${RUN_PREFIX}_${++runs}`;

  it('failures per username spread over both instances add up, and the window ends on Redis’s clock', async () => {
    const [one, two] = await pair({ loginFailuresPerUsername: 4, loginFailureWindow: 1 }, prefix());
    await fail(one, 2, 'alice', '198.51.100.1');
    await fail(two, 2, 'alice', '198.51.100.2');
    expectThrottled(await attempt(one, 'alice', 'right', '198.51.100.3'), 1);
    expectThrottled(await attempt(two, 'alice', 'right', '198.51.100.3'), 1);
    expect((await attempt(two, 'bob', 'right', '198.51.100.3')).statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await attempt(one, 'alice', 'right', '198.51.100.3')).statusCode).toBe(200);
  });

  it('failures per address spread over both instances and over usernames add up', async () => {
    const [one, two] = await pair({ loginFailuresPerUsername: 10, loginFailuresPerIp: 6, loginFailureWindow: 1 }, prefix());
    const ip = '203.0.113.50';
    for (let i = 0; i < 6; i++) {
      const res = await attempt(i % 2 ? one : two, `user${i}`, 'wrong', ip);
      expect(res.statusCode).toBe(401);
    }
    expectThrottled(await attempt(one, 'alice', 'right', ip), 1);
    expectThrottled(await attempt(two, 'bob', 'right', ip), 1);
    expect((await attempt(two, 'bob', 'right', '203.0.113.51')).statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await attempt(two, 'bob', 'right', ip)).statusCode).toBe(200);
  });

  it('every attempt per address counts on both instances; a success on one forgets the username’s failures on both', async () => {
    const [one, two] = await pair({ loginAttemptsPerIp: 6, loginAttemptWindow: 1, loginFailuresPerUsername: 3 }, prefix());
    const ip = '203.0.113.60';
    await fail(one, 2, 'alice', '192.0.2.1');
    expect((await attempt(two, 'alice', 'right', '192.0.2.2')).statusCode).toBe(200);
    await fail(two, 2, 'alice', '192.0.2.3');
    expect((await attempt(one, 'alice', 'right', '192.0.2.4')).statusCode).toBe(200);
    for (let i = 0; i < 6; i++) expect((await attempt(i % 2 ? one : two, 'bob', 'right', ip)).statusCode).toBe(200);
    expectThrottled(await attempt(one, 'bob', 'right', ip), 1);
    expectThrottled(await attempt(two, 'alice', 'right', ip), 1);
  });

  it('with Redis unreachable, logins go on and each instance counts on its own (logged once)', async () => {
    const warnings: string[] = [];
    const { app } = await server(
      { loginFailuresPerUsername: 2 },
      { throttle: 'redis://127.0.0.1:1', logger: { error: () => {}, warn: (line: string) => warnings.push(line) } },
    );
    expect((await attempt(app, 'alice', 'right')).statusCode).toBe(200);
    await fail(app, 2, 'alice');
    expect((await attempt(app, 'alice', 'right')).statusCode).toBe(429);
    expect(warnings.filter((line) => line.includes('Redis throttle store'))).toHaveLength(1);
  });
});
