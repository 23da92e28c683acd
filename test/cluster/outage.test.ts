import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, eventually, privatePostgres, startServer } from '../support/processes.ts';

/**
 * A database outage on a running server (PostgreSQL of the test's own, so stopping it disturbs nothing
 * else): 503 JSON where the database is needed, access checks served from the cache until the staleness
 * bound, then refused with `revocation_state_stale`; full recovery, with no restart, when it returns.
 */

const database = await privatePostgres();
if (!database) console.warn('database outage test: no PostgreSQL binaries on this machine — skipped');

describe.skipIf(!database)('database outage', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer({
      DATABASE_URL: database!.url,
      REVOCABLE_REVOCATION_POLL_INTERVAL: '100ms',
      REVOCABLE_MAX_REVOCATION_STALENESS: '2s',
    });
  }, 60_000);
  afterAll(async () => {
    await server?.kill();
    database?.destroy();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('answers 503 where the database is needed, serves access checks until the staleness bound, then recovers', async () => {
    try {
      await outageScenario();
    } catch (error) {
      // The server's own log says why, should it have died.
      console.error(`server output:\n${server.output()}`);
      throw error;
    }
  }, 60_000);

  async function outageScenario() {
    const { createAuth } = await import('../../src/auth.ts');
    const admin = await createAuth({
      settings: { signingKey: 'cluster-test-signing-key-of-32-bytes!!' },
      database: database!.url,
      passwordHashing: { memoryCost: 1024, timeCost: 1 },
    });
    await admin.users.create({ username: 'alice', password: 'pw' });
    await admin.close();
    const login = await post('/api/token/', { username: 'alice', password: 'pw' });
    expect(login.status).toBe(200);
    const { access, refresh } = (await login.json()) as { access: string; refresh: string };

    database!.stop();

    const loginDown = await post('/api/token/', { username: 'alice', password: 'pw' });
    expect(loginDown.status).toBe(503);
    expect(loginDown.headers.get('content-type')).toBe('application/json');
    expect(await loginDown.json()).toEqual({ detail: 'The database is unavailable.', code: 'database_unavailable' });
    const refreshDown = await post('/api/token/refresh/', { refresh });
    expect(refreshDown.status).toBe(503);
    expect(await refreshDown.json()).toMatchObject({ code: 'database_unavailable' });

    // Within the bound the access token is still checked, from memory.
    const verifyWhileFresh = await post('/api/token/verify/', { token: access });
    expect(verifyWhileFresh.status).toBe(200);

    // Past it, this instance can no longer confirm nothing was revoked: it fails closed.
    expect(
      await eventually(async () => (await post('/api/token/verify/', { token: access })).status === 503, 10_000),
    ).toBe(true);
    const stale = await post('/api/token/verify/', { token: access });
    expect(await stale.json()).toEqual({
      detail: 'Cannot confirm that the token has not been revoked: the revocation state is stale.',
      code: 'revocation_state_stale',
    });
    const staleMe = await fetch(`${server.url}/api/me/`, { headers: { authorization: `Bearer ${access}` } });
    expect(staleMe.status).toBe(503);

    database!.start();

    expect(await eventually(async () => (await post('/api/token/verify/', { token: access })).status === 200, 15_000)).toBe(
      true,
    );
    expect((await post('/api/token/', { username: 'alice', password: 'pw' })).status).toBe(200);
    expect((await post('/api/token/refresh/', { refresh })).status).toBe(200);
    const me = await fetch(`${server.url}/api/me/`, { headers: { authorization: `Bearer ${access}` } });
    expect(me.status).toBe(200);
  }
});

describe.skipIf(!database)('a connection lost in the middle of a transaction', () => {
  it('fails that transaction and leaves the process running', async () => {
    const own = (await privatePostgres())!;
    const { openStore } = await import('../../src/store/open.ts');
    const { sql } = await import('kysely');
    const { SqlStore } = await import('../../src/store/sql/sql-store.ts');
    const store = await openStore(own.url, { logger: { error() {} } });
    try {
      await store.migrate();
      const { db } = store as InstanceType<typeof SqlStore>;
      const transaction = db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx);
        // Checked out, between two queries, when the server goes away.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await sql`select 1`.execute(trx);
      });
      setTimeout(() => own.stop(), 200);
      await expect(transaction).rejects.toThrow();
      // Still here: an unheard 'error' event on the pg client would have ended the process.
      expect(process.exitCode ?? 0).toBe(0);
    } finally {
      await store.close().catch(() => {});
      own.destroy();
    }
  }, 60_000);
});
