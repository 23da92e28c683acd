import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StaleRevocationStateError } from '../../src/errors.ts';
import type { RevocationEntry } from '../../src/store/records.ts';
import { openStore } from '../../src/store/open.ts';
import { SIGNING_KEY, decodePayload, tempDir, testAuth } from '../helpers.ts';
import { eventually, freePort } from '../support/processes.ts';
import {
  type RunningAuthServer,
  type SseEvent,
  basic,
  openEventStream,
  outcome,
  plainServer,
  rejection,
  resourceServer,
  startAuthServer,
  useCleanup,
} from './support.ts';

/**
 * `GET /api/revocations/stream/` (Server-Sent Events) and a resource server following it: revocations
 * reach it within moments, it fails closed once the feed has been silent past `maxRevocationStaleness`,
 * and it catches up after the auth server comes back.
 *
 * Every wait for an effect is `eventually` with a generous deadline: these tests check convergence,
 * never speed.
 */

const defer = useCleanup();
/** Generous deadline for anything that travels over the feed. */
const DEADLINE = 15_000;

type Client = { clientId: string; clientSecret: string };

interface FeedAuth extends RunningAuthServer {
  database: string;
  client: Client;
  aliceId: number;
  login(): Promise<{ access: string; refresh: string }>;
}

/**
 * An auth server on a SQLite file (so it can stop and come back, and another instance can write), with
 * a feed client and alice. Given `database`, it comes back on that database (and `port`): no client then.
 */
async function feedAuth(options: { maxRevocationStaleness?: number; port?: number; database?: string } = {}): Promise<FeedAuth> {
  let database = options.database;
  if (database === undefined) {
    const dir = tempDir();
    defer(() => dir.remove());
    database = `sqlite:${join(dir.path, 'auth.sqlite3')}`;
  }
  const server = await startAuthServer({
    database,
    settings: { maxRevocationStaleness: options.maxRevocationStaleness ?? 30 },
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  defer(() => server.stop());
  const fresh = options.database === undefined;
  const client = fresh ? await server.auth.clients.create('resource-server') : { clientId: '', clientSecret: '' };
  const alice = fresh ? await server.auth.users.create({ username: 'alice', password: 'pw' }) : (await server.auth.users.findByUsername('alice'))!;
  return {
    ...server,
    database,
    client,
    aliceId: alice.id,
    login: () => server.auth.issueTokens(alice),
  };
}

async function followingServer(auth: { feedUrl: string; client: Client }, settings: { maxRevocationStaleness?: number; failOpen?: boolean } = {}) {
  const server = await resourceServer({
    settings: { signingKey: SIGNING_KEY, maxRevocationStaleness: 30, ...settings },
    revocations: { feed: auth.feedUrl, ...auth.client, readyTimeoutMs: DEADLINE },
  });
  defer(() => server.close());
  return server;
}

async function stream(auth: { feedUrl: string; client: Client }, headers: Record<string, string> = {}) {
  const reader = await openEventStream(auth.feedUrl, { authorization: basic(auth.client), ...headers });
  defer(() => reader.close());
  return reader;
}

const entriesOf = (data: string) => JSON.parse(data) as RevocationEntry[];
/**
 * The distinct entries of `revocations` events: an entry may come twice (applied locally, then read
 * back from the log by the auth server's poll), which is harmless since applying is idempotent.
 */
const distinctEntries = (events: SseEvent[]) => [
  ...new Map(
    events
      .filter((event) => event.event === 'revocations')
      .flatMap((event) => entriesOf(event.data))
      .map((entry) => [entry.seq, entry] as const),
  ).values(),
];
const sidOf = (token: string) => decodePayload(token).sid as string;

describe('GET /api/revocations/stream/: client authentication', () => {
  it('answers 401 invalid_client without credentials, with a wrong secret, an unknown client or a bearer token', async () => {
    const auth = await feedAuth();
    const { access } = await auth.login();
    const refusals: Record<string, string>[] = [
      {},
      { authorization: basic({ clientId: auth.client.clientId, clientSecret: 'wrong' }) },
      { authorization: basic({ clientId: 'nobody', clientSecret: auth.client.clientSecret }) },
      { authorization: `Bearer ${access}` },
      { authorization: 'Basic !!!' },
    ];
    for (const headers of refusals) {
      const res = await fetch(auth.feedUrl, { headers });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="oauth"');
      expect(await res.json()).toMatchObject({ error: 'invalid_client' });
    }
  });
});

describe('GET /api/revocations/stream/: the events', () => {
  it('sends the backlog, then ready, with the highest sequence number as the id', async () => {
    const auth = await feedAuth();
    const first = await auth.login();
    const second = await auth.login();
    await auth.auth.blacklist(first.refresh);
    await auth.auth.revokeSession(String(sidOf(second.access)));
    await auth.auth.revokeAllForUser(auth.aliceId);

    const reader = await stream(auth);
    expect(reader.status).toBe(200);
    expect(reader.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(reader.response.headers.get('cache-control')).toBe('no-store');
    const ready = await reader.next((event) => event.event === 'ready');
    const backlog = reader.events.slice(0, reader.events.indexOf(ready));
    expect(backlog.every((event) => event.event === 'revocations')).toBe(true);
    const entries = distinctEntries(backlog);
    expect(new Set(entries.map((entry) => entry.kind))).toEqual(new Set(['token', 'session', 'user']));
    const highest = Math.max(...entries.map((entry) => entry.seq));
    expect(backlog.at(-1)!.id).toBe(String(highest));
    expect(ready.id).toBe(String(highest));
    expect(JSON.parse(ready.data)).toEqual({ stale: false });
  });

  it('with nothing revoked yet, ready comes first', async () => {
    const auth = await feedAuth();
    const reader = await stream(auth);
    const ready = await reader.next(() => true);
    expect(ready.event).toBe('ready');
    expect(JSON.parse(ready.data)).toEqual({ stale: false });
  });

  it('a revocation made after ready arrives as an event, with a higher id', async () => {
    const auth = await feedAuth();
    await auth.auth.revokeAllForUser(auth.aliceId);
    const reader = await stream(auth);
    const ready = await reader.next((event) => event.event === 'ready');
    const after = reader.events.length;
    const { access } = await auth.login();
    const sid = sidOf(access);
    await auth.auth.revokeSession(sid);
    const live = await reader.next((event) => event.event === 'revocations', after, DEADLINE);
    expect(entriesOf(live.data)).toEqual([expect.objectContaining({ kind: 'session', subject: sid })]);
    expect(Number(live.id)).toBeGreaterThan(Number(ready.id));
  });

  it('a reader resuming with Last-Event-ID gets only the later entries; an unreadable one gets everything', async () => {
    const auth = await feedAuth();
    await auth.auth.revokeAllForUser(auth.aliceId);
    const firstReader = await stream(auth);
    const cursor = (await firstReader.next((event) => event.event === 'ready')).id!;
    firstReader.close();
    const { access } = await auth.login();
    const sid = sidOf(access);
    await auth.auth.revokeSession(sid);
    await auth.auth.revokeAllForUser(auth.aliceId);

    const resumed = await stream(auth, { 'last-event-id': cursor });
    const ready = await resumed.next((event) => event.event === 'ready');
    const entries = distinctEntries(resumed.events);
    expect(entries.map((entry) => entry.kind).sort()).toEqual(['session', 'user']);
    expect(entries.every((entry) => entry.seq > Number(cursor))).toBe(true);
    expect(Number(ready.id)).toBe(Math.max(...entries.map((entry) => entry.seq)));

    // Resuming from the latest id: nothing to send but ready, which keeps the id.
    const upToDate = await stream(auth, { 'last-event-id': ready.id! });
    const again = await upToDate.next(() => true);
    expect(again.event).toBe('ready');
    expect(again.id).toBe(ready.id);

    const garbage = await stream(auth, { 'last-event-id': 'not-a-number' });
    await garbage.next((event) => event.event === 'ready');
    const all = distinctEntries(garbage.events);
    expect(all.map((entry) => entry.kind).sort()).toEqual(['session', 'user', 'user']);
  });

  it('sends heartbeats saying whether the auth server is stale', async () => {
    // maxRevocationStaleness 1 s: a heartbeat every 200 ms.
    const auth = await feedAuth({ maxRevocationStaleness: 1 });
    const reader = await stream(auth);
    const heartbeat = await reader.next((event) => event.event === 'heartbeat', 0, DEADLINE);
    expect(JSON.parse(heartbeat.data)).toEqual({ stale: false });
  });

  it('a revocation made by another instance on the same database reaches the stream (the log poll)', async () => {
    const auth = await feedAuth();
    const reader = await stream(auth);
    await reader.next((event) => event.event === 'ready');
    const other = await testAuth({ database: auth.database });
    defer(() => other.close());
    await other.revokeAllForUser(auth.aliceId);
    const live = await reader.next((event) => event.event === 'revocations', 0, DEADLINE);
    expect(entriesOf(live.data)).toEqual([expect.objectContaining({ kind: 'user', subject: String(auth.aliceId) })]);
  });
});

describe('a resource server following the feed', () => {
  it('knows at start what was revoked before it started', async () => {
    const auth = await feedAuth();
    const revoked = await auth.login();
    await auth.auth.revokeAllForUser(auth.aliceId);
    const fresh = await auth.login();
    const server = await followingServer(auth);
    expect(await outcome(server, revoked.access)).toBe('revoked');
    expect(await outcome(server, fresh.access)).toBe('accepted');
  });

  it("refuses a revoked user's tokens, a revoked session's, and the access tokens of a blacklisted refresh token (logout)", async () => {
    const auth = await feedAuth();
    const server = await followingServer(auth);
    const [a, b, c] = [await auth.login(), await auth.login(), await auth.login()];
    for (const pair of [a, b, c]) expect(await outcome(server, pair.access)).toBe('accepted');

    // Logout over HTTP: Simple JWT's blacklist endpoint, on the auth server.
    const res = await fetch(`${auth.url}/api/token/blacklist/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh: a.refresh }),
    });
    expect(res.status).toBe(200);
    expect(await eventually(async () => (await outcome(server, a.access)) === 'revoked', DEADLINE)).toBe(true);
    expect(await outcome(server, b.access)).toBe('accepted');

    const sid = sidOf(b.access);
    expect(await auth.auth.revokeSession(sid)).toBe(true);
    expect(await eventually(async () => (await outcome(server, b.access)) === 'revoked', DEADLINE)).toBe(true);
    expect(await outcome(server, c.access)).toBe('accepted');

    await auth.auth.revokeAllForUser(auth.aliceId);
    expect(await eventually(async () => (await outcome(server, c.access)) === 'revoked', DEADLINE)).toBe(true);
    // A token issued after the revoke-all passes.
    expect(await outcome(server, (await auth.login()).access)).toBe('accepted');
    const error = await rejection(server.authenticate({ authorization: `Bearer ${c.access}` }));
    expect(error).toMatchObject({ status: 401, code: 'token_not_valid' });
  });

  it('becomes stale once the auth server has been silent past maxRevocationStaleness and refuses (503), unless failOpen; then catches up and accepts again', async () => {
    const auth = await feedAuth({ maxRevocationStaleness: 3 });
    const closed = await followingServer(auth, { maxRevocationStaleness: 3 });
    const open = await followingServer(auth, { maxRevocationStaleness: 3, failOpen: true });
    const before = await auth.login();
    const kept = await auth.login();
    expect(await outcome(closed, before.access)).toBe('accepted');

    // The auth server goes away; meanwhile another instance (the CLI, say) revokes alice on the same database.
    const { port, database } = auth;
    await auth.stop();
    const cli = await testAuth({ database });
    await cli.revokeAllForUser(auth.aliceId);
    const after = await cli.issueTokens((await cli.users.findByUsername('alice'))!);
    await cli.close();

    expect(await eventually(async () => (await outcome(closed, kept.access)) === 'stale', DEADLINE)).toBe(true);
    const error = await rejection(closed.verify(after.access));
    expect(error).toBeInstanceOf(StaleRevocationStateError);
    expect(error).toMatchObject({ status: 503, code: 'revocation_state_stale' });
    expect(await rejection(closed.authenticate({ authorization: `Bearer ${kept.access}` }))).toBeInstanceOf(StaleRevocationStateError);
    // Fail open: past the same bound, it still accepts (and cannot know of the revocation).
    expect(await outcome(open, kept.access)).toBe('accepted');

    // The auth server comes back on the same address: both reconnect, resume after their last event and
    // apply the revocation made while it was away.
    await feedAuth({ maxRevocationStaleness: 3, port, database });
    for (const server of [closed, open]) {
      expect(await eventually(async () => (await outcome(server, kept.access)) === 'revoked', DEADLINE)).toBe(true);
      expect(await outcome(server, before.access)).toBe('revoked');
      expect(await outcome(server, after.access)).toBe('accepted');
    }
  });

  it('an interruption shorter than maxRevocationStaleness does not refuse anything', async () => {
    const auth = await feedAuth({ maxRevocationStaleness: 30 });
    const server = await followingServer(auth, { maxRevocationStaleness: 30 });
    const { access } = await auth.login();
    const { port, database } = auth;
    await auth.stop();
    // A stand-in on the same address answers 503: once the resource server asks it, it has noticed the drop.
    const standIn = await plainServer((_request, response) => {
      response.writeHead(503);
      response.end();
    }, port);
    expect(await eventually(() => standIn.requests() > 0, DEADLINE)).toBe(true);
    // Within the bound the last state stands: not a 503 the moment a connection drops.
    expect(await outcome(server, access)).toBe('accepted');
    await standIn.close();
    const back = await feedAuth({ maxRevocationStaleness: 30, port, database });
    await back.auth.revokeAllForUser(back.aliceId);
    expect(await eventually(async () => (await outcome(server, access)) === 'revoked', DEADLINE)).toBe(true);
  });

  it('refuses (503) when the auth server says its own revocation state is stale', async () => {
    const dir = tempDir();
    defer(() => dir.remove());
    const store = await openStore(`sqlite:${join(dir.path, 'auth.sqlite3')}`);
    const auth = await startAuthServer({ database: store, settings: { maxRevocationStaleness: 1 } });
    defer(() => auth.stop());
    const client = await auth.auth.clients.create('resource-server');
    const alice = await auth.auth.users.create({ username: 'alice', password: 'pw' });
    const { access } = await auth.auth.issueTokens(alice);
    const server = await followingServer({ feedUrl: auth.feedUrl, client }, { maxRevocationStaleness: 30 });
    expect(await outcome(server, access)).toBe('accepted');
    // The auth server can no longer read its revocation log: its heartbeats say so.
    await store.close();
    expect(await eventually(async () => (await outcome(server, access)) === 'stale', DEADLINE)).toBe(true);
  });

  it('does not start with wrong client credentials, or when the auth server is unreachable', async () => {
    const auth = await feedAuth();
    const cases = [
      {
        revocations: { feed: auth.feedUrl, clientId: auth.client.clientId, clientSecret: 'wrong', readyTimeoutMs: 1000 },
        says: 'answered 401',
      },
      {
        revocations: { feed: `http://127.0.0.1:${await freePort()}/api/revocations/stream/`, ...auth.client, readyTimeoutMs: 1000 },
        says: 'was not ready within 1000 ms',
      },
    ];
    for (const { revocations, says } of cases) {
      const error = await rejection(resourceServer({ settings: { signingKey: SIGNING_KEY }, revocations }));
      expect(error.message).toContain(says);
    }
  });

  it('app.close() on the auth server ends the open streams instead of hanging', async () => {
    const auth = await feedAuth();
    const server = await followingServer(auth);
    const readers = [await stream(auth), await stream(auth), await stream(auth)];
    for (const reader of readers) await reader.next((event) => event.event === 'ready');
    let timer: NodeJS.Timeout | undefined;
    const closing = auth.app.close().then(() => 'closed');
    const outcomeOfClose = await Promise.race([
      closing,
      new Promise((resolve) => {
        timer = setTimeout(() => resolve('hung'), 20_000);
      }),
    ]);
    clearTimeout(timer);
    expect(outcomeOfClose).toBe('closed');
    expect(await eventually(() => readers.every((reader) => reader.ended()), DEADLINE)).toBe(true);
    await auth.auth.close();
    await server.close();
  });

  it('close() on the resource server ends its connection to the feed', async () => {
    const auth = await feedAuth();
    const feedSockets: Socket[] = [];
    auth.app.server.on('request', (request: IncomingMessage) => {
      if (request.url?.startsWith('/api/revocations/stream/')) feedSockets.push(request.socket);
    });
    const server = await followingServer(auth);
    expect(feedSockets).toHaveLength(1);
    await server.close();
    expect(await eventually(() => feedSockets.every((socket) => socket.destroyed), DEADLINE)).toBe(true);
  });
});

