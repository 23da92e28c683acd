import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, type ServerProcess, freePort, startServer } from '../support/processes.ts';
import { redisReachable } from '../support/services.ts';

/**
 * The acceptance test of the resource-server examples: the auth server and each example run as their
 * own processes, as they would in production. After the user is revoked on the auth server, the
 * example must refuse the token within 100 ms: the examples poll the revocation log only once a
 * minute, so only the bus or the feed can carry the revocation that fast.
 */

const ROOT = resolve(import.meta.dirname, '..', '..');
const REDIS = process.env.REVOCABLE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisUp = await redisReachable(REDIS);
if (!redisUp) console.warn('examples: redis NOT REACHABLE — the bus scenarios are skipped');
if (process.env.REVOCABLE_REQUIRE_STORES === '1') {
  it('needs Redis (REVOCABLE_REQUIRE_STORES=1)', () => expect(redisUp).toBe(true));
}

const PASSWORD = 'example-password-1';
const PROPAGATION_BOUND_MS = 100;
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface AuthDeployment {
  auth: ServerProcess;
  env: Record<string, string>;
  client: { id: string; secret: string };
}

/** A `revocable serve` on a SQLite file of its own, with a user and a client for the feed. */
async function deployAuth(bus: boolean): Promise<AuthDeployment> {
  const dir = mkdtempSync(join(tmpdir(), 'revocable-examples-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const env: Record<string, string> = {
    DATABASE_URL: `sqlite:${join(dir, 'auth.db')}`,
    REVOCABLE_SIGNING_KEY: 'examples-signing-key-of-at-least-32-bytes',
    REVOCABLE_BUS_CHANNEL: `examples_${process.pid}_${Date.now()}`,
    ...(bus ? { REDIS_URL: REDIS } : {}),
  };
  const cli = (...args: string[]) => execFileSync(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  cli('create-user', 'alice', '--password', PASSWORD);
  const added = cli('clients', 'add', 'examples');
  const client = {
    id: /client_id: (\S+)/.exec(added)?.[1] ?? '',
    secret: /client_secret: (\S+)/.exec(added)?.[1] ?? '',
  };
  const auth = await startServer(env, dir);
  cleanups.push(() => auth.kill());
  return { auth, env, client };
}

/** Starts `examples/<name>/server.ts` the way its README does, and waits until it listens. */
async function startExample(name: string, env: Record<string, string>): Promise<string> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', `examples/${name}/server.ts`], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  cleanups.push(
    () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGKILL');
      }),
  );
  const listening = await new Promise<boolean>((done) => {
    const timer = setInterval(() => {
      if (output.includes('listening on')) {
        clearInterval(timer);
        done(true);
      }
    }, 20);
    child.once('exit', () => {
      clearInterval(timer);
      done(false);
    });
    setTimeout(() => {
      clearInterval(timer);
      done(false);
    }, 30_000).unref();
  });
  if (!listening) throw new Error(`examples/${name} did not start:\n${output}`);
  return `http://127.0.0.1:${port}`;
}

async function login(authUrl: string): Promise<string> {
  const response = await fetch(`${authUrl}/api/token/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: PASSWORD }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access: string }).access;
}

const hello = (exampleUrl: string, access: string) =>
  fetch(`${exampleUrl}/hello`, { headers: { authorization: `Bearer ${access}` } });

const EXAMPLES = ['express', 'fastify', 'hono'] as const;
const ROUTES = [
  { name: 'the SSE feed', bus: false },
  { name: 'the Redis bus', bus: true },
] as const;

for (const route of ROUTES) {
  describe.skipIf(route.bus && !redisUp)(`examples, revocations through ${route.name}`, () => {
    let deployment: AuthDeployment;
    beforeAll(async () => {
      deployment = await deployAuth(route.bus);
    });
    for (const example of EXAMPLES) {
      it(`examples/${example}: 200, then 401 within ${PROPAGATION_BOUND_MS} ms of revoking the user`, async () => {
        const { auth, env, client } = deployment;
        const exampleUrl = await startExample(example, {
          AUTH_URL: auth.url,
          REVOCABLE_SIGNING_KEY: env.REVOCABLE_SIGNING_KEY as string,
          // Once a minute: within this test, only the feed or the bus can bring the revocation.
          REVOCABLE_REVOCATION_POLL_INTERVAL: '60s',
          REVOCABLE_MAX_REVOCATION_STALENESS: '5m',
          ...(route.bus
            ? { REVOCATIONS: 'bus', DATABASE_URL: env.DATABASE_URL as string, REDIS_URL: REDIS, REVOCABLE_BUS_CHANNEL: env.REVOCABLE_BUS_CHANNEL as string }
            : { REVOCATIONS: 'feed', CLIENT_ID: client.id, CLIENT_SECRET: client.secret }),
        });
        const access = await login(auth.url);
        const before = await hello(exampleUrl, access);
        expect(before.status).toBe(200);
        expect(((await before.json()) as { hello: { id: number } }).hello.id).toBe(1);

        const revoked = await fetch(`${auth.url}/api/logout-all/`, { method: 'POST', headers: { authorization: `Bearer ${access}` } });
        expect(revoked.status).toBe(205);
        await new Promise((wait) => setTimeout(wait, PROPAGATION_BOUND_MS));
        const after = await hello(exampleUrl, access);
        expect(after.status).toBe(401);
        expect(await after.json()).toMatchObject({ code: 'token_not_valid', messages: [{ message: 'Token is blacklisted' }] });
      });
    }
  });
}
