import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createAuth } from '../../src/auth.ts';
import { freshPostgresSchema, postgresReachable } from '../support/postgres-schema.ts';
import { type ServerProcess, eventually, freePort, startServer } from '../support/processes.ts';
import { redisReachable } from '../support/services.ts';

/**
 * Three `revocable serve` processes on loopback sharing one PostgreSQL database: a revoke-all on the
 * first reaches the second and the third through the Redis bus, through PostgreSQL NOTIFY, and, with the
 * bus killed, through the revocation log poll.
 */

const POSTGRES = process.env.REVOCABLE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.REVOCABLE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const required = process.env.REVOCABLE_REQUIRE_STORES === '1';

const postgresUp = await postgresReachable(POSTGRES);
const redisUp = await redisReachable(REDIS);
for (const [name, up] of [
  ['postgres', postgresUp],
  ['redis', redisUp],
] as const) {
  if (!up) console.warn(`cluster propagation: ${name} NOT REACHABLE — its scenarios are skipped`);
}
if (required) {
  it('needs PostgreSQL and Redis (REVOCABLE_REQUIRE_STORES=1)', () => {
    expect({ postgres: postgresUp, redis: redisUp }).toEqual({ postgres: true, redis: true });
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function cluster(env: Record<string, string>) {
  const schema = await freshPostgresSchema('cluster', POSTGRES);
  cleanups.push(() => schema.drop());
  const channel = `t${randomBytes(5).toString('hex')}`;
  const common = { DATABASE_URL: schema.url, REVOCABLE_BUS_CHANNEL: channel, ...env };
  // The first applies the migrations; the others start on a migrated database.
  const first = await startServer(common);
  const servers: ServerProcess[] = [first, ...(await Promise.all([startServer(common), startServer(common)]))];
  cleanups.push(async () => {
    await Promise.all(servers.map((server) => server.kill()));
  });
  const admin = await createAuth({
    settings: { signingKey: 'cluster-test-signing-key-of-32-bytes!!' },
    database: schema.url,
    passwordHashing: { memoryCost: 1024, timeCost: 1 },
    logger: { error() {}, warn() {} },
  });
  await admin.users.create({ username: 'alice', password: 'pw' });
  await admin.close();
  return servers;
}

async function loginOn(server: ServerProcess) {
  const res = await fetch(`${server.url}/api/token/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: 'pw' }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { access: string; refresh: string };
}
const meStatus = async (server: ServerProcess, access: string) =>
  (await fetch(`${server.url}/api/me/`, { headers: { authorization: `Bearer ${access}` } })).status;

async function revokeAllOnFirstSeenByTheOthers(servers: ServerProcess[], beforeRevoking?: () => void) {
  const [first, second, third] = servers as [ServerProcess, ServerProcess, ServerProcess];
  const tokens = await loginOn(first);
  const other = await loginOn(second);
  for (const server of servers) expect(await meStatus(server, tokens.access)).toBe(200);
  beforeRevoking?.();
  const revoked = await fetch(`${first.url}/api/logout-all/`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access}` } });
  expect(revoked.status).toBe(205);
  expect(await meStatus(first, tokens.access)).toBe(401);
  // Convergence, not speed, is what this test checks: docs/BENCHMARKS.md measures the latency.
  expect(await eventually(async () => (await meStatus(second, tokens.access)) === 401, 10_000)).toBe(true);
  expect(await eventually(async () => (await meStatus(third, tokens.access)) === 401, 10_000)).toBe(true);
  expect(await meStatus(third, other.access)).toBe(401);
}

describe.skipIf(!postgresUp || !redisUp)('three instances on PostgreSQL with the Redis bus', () => {
  it('a revoke-all on the first is in force on the second and the third', async () => {
    // A poll of a minute: within this test, only the bus can carry the revocation.
    const servers = await cluster({ REDIS_URL: REDIS, REVOCABLE_REVOCATION_POLL_INTERVAL: '60s', REVOCABLE_MAX_REVOCATION_STALENESS: '5m' });
    await revokeAllOnFirstSeenByTheOthers(servers);
  }, 120_000);
});

describe.skipIf(!postgresUp)('three instances on PostgreSQL with the NOTIFY bus', () => {
  it('a revoke-all on the first is in force on the second and the third', async () => {
    const servers = await cluster({ REVOCABLE_BUS: 'postgres', REVOCABLE_REVOCATION_POLL_INTERVAL: '60s', REVOCABLE_MAX_REVOCATION_STALENESS: '5m' });
    await revokeAllOnFirstSeenByTheOthers(servers);
  }, 120_000);
});

describe.skipIf(!postgresUp)('three instances on PostgreSQL, the bus killed mid-test', () => {
  it('the revocation log poll carries the revoke-all', async () => {
    const port = await freePort();
    const redis: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    cleanups.push(() => {
      redis.kill('SIGKILL');
    });
    const redisUrl = `redis://127.0.0.1:${port}`;
    expect(await eventually(() => redisReachable(redisUrl, 500), 10_000)).toBe(true);
    const servers = await cluster({ REDIS_URL: redisUrl, REVOCABLE_REVOCATION_POLL_INTERVAL: '200ms' });
    await revokeAllOnFirstSeenByTheOthers(servers, () => redis.kill('SIGKILL'));
  }, 120_000);
});
