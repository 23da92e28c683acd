/**
 * `GET /metrics` (each named metric moves after the action it counts: scrape, act, scrape again) and
 * `GET /readyz` (ready; not ready with the database gone, or with a stale revocation state).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../../src/auth.ts';
import { buildServer } from '../../src/http/fastify.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { type TestAuthOptions, decodePayload, tempDir, testAuth, testServer } from '../helpers.ts';
import { bearer, postJson } from './support.ts';

/** One sample of the Prometheus text format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Scrapes `/metrics` and answers the sum of the samples of `name` whose labels include `labels` (0 when none). */
async function scrape(app: FastifyInstance): Promise<(name: string, labels?: Record<string, string>) => number> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = parseSamples(res.body);
  return (name, labels = {}) =>
    samples
      .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
      .reduce((sum, sample) => sum + sample.value, 0);
}

/** How much a metric moved while `act` ran. */
async function moved(app: FastifyInstance, name: string, labels: Record<string, string>, act: () => Promise<unknown>): Promise<number> {
  const before = (await scrape(app))(name, labels);
  await act();
  return (await scrape(app))(name, labels) - before;
}

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function server(options: TestAuthOptions = {}) {
  const made = await testServer(options);
  closers.push(
    () => made.auth.close(),
    () => made.app.close(),
  );
  return made;
}

describe('GET /metrics', () => {
  let app: FastifyInstance;
  let auth: Auth;
  beforeAll(async () => {
    ({ app, auth } = await server({ settings: { rotateRefreshTokens: true, blacklistAfterRotation: true } }));
    await auth.users.create({ username: 'alice', password: 'pw' });
  });
  const login = async () => {
    const res = await postJson(app, '/api/token/', { username: 'alice', password: 'pw' });
    expect(res.statusCode).toBe(200);
    return res.json() as { access: string; refresh: string };
  };
  const me = (access: string) => app.inject({ method: 'GET', url: '/api/me/', headers: bearer(access) });

  it('revocable_tokens_issued_total counts logins, by type (pair, sliding)', async () => {
    expect(await moved(app, 'revocable_tokens_issued_total', { type: 'pair' }, login)).toBe(1);
    const sliding = () => postJson(app, '/api/token/sliding/', { username: 'alice', password: 'pw' });
    expect(await moved(app, 'revocable_tokens_issued_total', { type: 'sliding' }, sliding)).toBe(1);
  });

  it('revocable_tokens_refreshed_total counts refreshes', async () => {
    const { refresh } = await login();
    const act = async () => expect((await postJson(app, '/api/token/refresh/', { refresh })).statusCode).toBe(200);
    expect(await moved(app, 'revocable_tokens_refreshed_total', {}, act)).toBe(1);
  });

  it('revocable_revocations_total counts revocations by level: token, session, user', async () => {
    const first = await login();
    const blacklist = async () => expect((await postJson(app, '/api/token/blacklist/', { refresh: first.refresh })).statusCode).toBe(200);
    expect(await moved(app, 'revocable_revocations_total', { level: 'token' }, blacklist)).toBe(1);

    const second = await login();
    const logout = async () =>
      expect((await app.inject({ method: 'POST', url: '/api/logout/', headers: bearer(second.access) })).statusCode).toBe(205);
    expect(await moved(app, 'revocable_revocations_total', { level: 'session' }, logout)).toBe(1);

    const third = await login();
    const logoutAll = async () =>
      expect((await app.inject({ method: 'POST', url: '/api/logout-all/', headers: bearer(third.access) })).statusCode).toBe(205);
    expect(await moved(app, 'revocable_revocations_total', { level: 'user' }, logoutAll)).toBe(1);
  });

  it('revocable_auth_failures_total counts refusals by reason', async () => {
    const reason = (name: string, act: () => Promise<unknown>) => moved(app, 'revocable_auth_failures_total', { reason: name }, act);
    expect(await reason('token_invalid', () => me('not-a-token'))).toBe(1);
    expect(await reason('not_authenticated', () => app.inject({ method: 'GET', url: '/api/me/' }))).toBe(1);
    expect(await reason('bad_header', () => app.inject({ method: 'GET', url: '/api/me/', headers: { authorization: 'Bearer a b' } }))).toBe(1);
    expect(await reason('bad_credentials', () => postJson(app, '/api/token/', { username: 'alice', password: 'wrong' }))).toBe(1);
    const { access, refresh } = await login();
    await postJson(app, '/api/token/blacklist/', { refresh });
    expect(await reason('token_revoked', () => me(access))).toBe(1);
    expect(await reason('token_revoked', () => postJson(app, '/api/token/refresh/', { refresh }))).toBe(1);
    expect(await reason('client_invalid', () => app.inject({ method: 'POST', url: '/oauth/introspect', payload: { token: access } }))).toBe(1);
    // A bad body is no refusal of credentials.
    expect(await moved(app, 'revocable_auth_failures_total', {}, () => postJson(app, '/api/token/', {}))).toBe(0);
  });

  it('revocable_auth_failures_total: user_not_found and user_inactive', async () => {
    const bob = await auth.users.create({ username: 'bob', password: 'pw' });
    const carol = await auth.users.create({ username: 'carol', password: 'pw' });
    const bobs = await auth.issueTokens(bob);
    const carols = await auth.issueTokens(carol);
    // Straight to the store, as another tool might: the tokens are not revoked.
    await auth.store.deleteUser(bob.id);
    await auth.store.updateUser(carol.id, { isActive: false });
    const reason = (name: string, act: () => Promise<unknown>) => moved(app, 'revocable_auth_failures_total', { reason: name }, act);
    expect(await reason('user_not_found', () => me(bobs.access))).toBe(1);
    expect(await reason('user_inactive', () => me(carols.access))).toBe(1);
  });

  it('revocable_auth_failures_total: throttled logins', async () => {
    const throttled = await server({ settings: { loginFailuresPerUsername: 1 } });
    await throttled.auth.users.create({ username: 'dave', password: 'pw' });
    const attempt = () => postJson(throttled.app, '/api/token/', { username: 'dave', password: 'wrong' });
    expect((await attempt()).statusCode).toBe(401);
    const act = async () => expect((await attempt()).statusCode).toBe(429);
    expect(await moved(throttled.app, 'revocable_auth_failures_total', { reason: 'throttled' }, act)).toBe(1);
  });

  it('revocable_refresh_reuse_detected_total counts reuse of a rotated refresh token', async () => {
    const { refresh } = await login();
    expect((await postJson(app, '/api/token/refresh/', { refresh })).statusCode).toBe(200);
    const reuse = async () => expect((await postJson(app, '/api/token/refresh/', { refresh })).statusCode).toBe(401);
    expect(await moved(app, 'revocable_refresh_reuse_detected_total', {}, reuse)).toBe(1);
  });

  it('revocable_revocation_cache_entries follows the cache, by level', async () => {
    const { access } = await login();
    const sid = String(decodePayload(access).sid);
    const revoke = () => auth.revokeSession(sid);
    expect(await moved(app, 'revocable_revocation_cache_entries', { level: 'session' }, revoke)).toBe(1);
    const frank = await auth.users.create({ username: 'frank', password: 'pw' });
    const revokeAll = () => auth.revokeAllForUser(frank.id);
    expect(await moved(app, 'revocable_revocation_cache_entries', { level: 'user' }, revokeAll)).toBe(1);
  });

  it('process metrics are there, under their standard names', async () => {
    const metric = await scrape(app);
    expect(metric('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(metric('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(metric('revocable_revocation_state_stale')).toBe(0);
  });
});

describe('revocable_revocation_propagation_seconds', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('observes revocations from another instance once, by source (bus, log), and never this instance\'s own', async () => {
    const database = `sqlite:${join(dir.path, 'shared.db')}`;
    const bus = `memory:metrics_${randomBytes(4).toString('hex')}`;
    // Timers off: each log read below is an explicit one.
    const writer = await server({ database, bus, revocationPollIntervalMs: 0 });
    const listener = await server({ database, bus, revocationPollIntervalMs: 0 });
    const poller = await server({ database, revocationPollIntervalMs: 0 });
    const user = await writer.auth.users.create({ username: 'erin', password: 'pw' });

    const count = async (app: FastifyInstance, source: string) =>
      (await scrape(app))('revocable_revocation_propagation_seconds_count', { source });
    const before = {
      writer: (await count(writer.app, 'bus')) + (await count(writer.app, 'log')),
      bus: await count(listener.app, 'bus'),
      log: await count(poller.app, 'log'),
    };
    await writer.auth.revokeAllForUser(user.id);
    // The in-process bus delivers at once; the poller reads the log.
    expect(await count(listener.app, 'bus')).toBe(before.bus + 1);
    await poller.auth.syncRevocations();
    expect(await count(poller.app, 'log')).toBe(before.log + 1);
    // Read again from the log, the same entry is not observed twice; the writer observes none of its own.
    await listener.auth.syncRevocations();
    await writer.auth.syncRevocations();
    expect((await count(listener.app, 'bus')) + (await count(listener.app, 'log'))).toBe(before.bus + 1);
    expect((await count(writer.app, 'bus')) + (await count(writer.app, 'log'))).toBe(before.writer);
    // The delay lands in a bucket of at most 10 s.
    expect((await scrape(listener.app))('revocable_revocation_propagation_seconds_bucket', { source: 'bus', le: '10' })).toBe(before.bus + 1);
  });
});

describe('who may read /metrics', () => {
  it('is not served with metrics: false', async () => {
    const auth = await testAuth();
    const app = await buildServer(auth, { metrics: false });
    closers.push(
      () => auth.close(),
      () => app.close(),
    );
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
  });

  it('with a token, answers only `Authorization: Bearer <token>`', async () => {
    const auth = await testAuth();
    const app = await buildServer(auth, { metrics: { token: 'metrics-secret' } });
    closers.push(
      () => auth.close(),
      () => app.close(),
    );
    const without = await app.inject({ method: 'GET', url: '/metrics' });
    expect(without.statusCode).toBe(401);
    expect(without.json()).toEqual({ detail: 'Authentication credentials were not provided.' });
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: bearer('wrong') })).statusCode).toBe(401);
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: bearer('metrics-secret') });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('revocable_auth_failures_total{reason="not_authenticated"} 2');
  });
});

describe('GET /readyz', () => {
  const opened: Store[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close().catch(() => {});
  });

  it('is ready when the database answers and the revocation state is fresh', async () => {
    const { app } = await server();
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready' });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('is not ready (503) when the database is gone', async () => {
    const store = await openStore(':memory:');
    opened.push(store);
    const { app } = await server({ database: store });
    await store.close();
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ status: 'not_ready', checks: { database: 'unavailable' } });
    // Liveness does not care.
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('is not ready (503) while the revocation state is stale, and ready again once the log is read', async () => {
    const store = await openStore(':memory:');
    opened.push(store);
    let logDown = false;
    const flaky = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'loadRevocations' && logDown) return () => Promise.reject(new Error('the log is unreadable'));
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const { app } = await server({
      database: flaky,
      revocationPollIntervalMs: 50,
      settings: { maxRevocationStaleness: 0.2 },
    });
    logDown = true;
    await expect.poll(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode, { timeout: 5000 }).toBe(503);
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.json()).toEqual({ status: 'not_ready', checks: { database: 'ok', revocation_state: 'stale' } });
    expect((await scrape(app))('revocable_revocation_state_stale')).toBe(1);
    logDown = false;
    await expect.poll(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode, { timeout: 5000 }).toBe(200);
  });
});
