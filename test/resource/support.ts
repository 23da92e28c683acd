import { readFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createSigner } from 'fast-jwt';
import { afterEach, expect } from 'vitest';
import type { Auth } from '../../src/auth.ts';
import { StaleRevocationStateError, TokenError, TokenRevokedError } from '../../src/errors.ts';
import { buildServer } from '../../src/http/fastify.ts';
import {
  type ResourceServer,
  type ResourceServerOptions,
  type TokenUser,
  createResourceServer,
} from '../../src/resource/resource-server.ts';
import type { Algorithm } from '../../src/settings/settings.ts';
import { type TestAuthOptions, testAuth } from '../helpers.ts';

/** Helpers of the resource-server suites: real auth servers on loopback, SSE readers, cleanups. */

/** Listener and background failures land here instead of the test output. */
export const SILENT = { error: () => {}, warn: () => {} };

/** Runs what a test registered, last first, after each test: every server, auth and resource server closes. */
export function useCleanup(): (cleanup: () => unknown) => void {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    const errors: unknown[] = [];
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length) throw errors[0];
  });
  return (cleanup) => {
    cleanups.push(cleanup);
  };
}

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'interop');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

/** The fixture key pair (PEM) of each asymmetric algorithm. */
export const KEY_PAIRS: Record<'RS256' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA', { privateKey: string; publicKey: string }> = {
  RS256: { privateKey: fixture('rsa.key'), publicKey: fixture('rsa.pub') },
  PS256: { privateKey: fixture('rsa.key'), publicKey: fixture('rsa.pub') },
  ES256: { privateKey: fixture('ec256.key'), publicKey: fixture('ec256.pub') },
  ES384: { privateKey: fixture('ec384.key'), publicKey: fixture('ec384.pub') },
  EdDSA: { privateKey: fixture('ed25519.key'), publicKey: fixture('ed25519.pub') },
};
export type AsymmetricAlgorithm = keyof typeof KEY_PAIRS;

/** Settings of an auth server signing with the fixture key of `algorithm`. */
export function asymmetricSettings(algorithm: AsymmetricAlgorithm) {
  const pair = KEY_PAIRS[algorithm];
  return { algorithm: algorithm as Algorithm, signingKey: pair.privateKey, verifyingKey: pair.publicKey };
}

/** A real auth server listening on loopback (port 0 unless given), with its Auth. */
export interface RunningAuthServer {
  auth: Auth;
  app: FastifyInstance;
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  jwkUrl: string;
  feedUrl: string;
  /** Closes the HTTP server and the Auth; idempotent. */
  stop(): Promise<void>;
}

export async function startAuthServer(options: TestAuthOptions & { port?: number } = {}): Promise<RunningAuthServer> {
  const auth = await testAuth(options);
  const app = await buildServer(auth);
  try {
    await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  } catch (error) {
    await app.close();
    await auth.close();
    throw error;
  }
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  let stopping: Promise<void> | undefined;
  return {
    auth,
    app,
    url,
    port,
    jwkUrl: `${url}/.well-known/jwks.json`,
    feedUrl: `${url}/api/revocations/stream/`,
    stop: () => {
      stopping ??= (async () => {
        // Node's fetch opens a fresh connection behind a request it aborted (a resource server's close
        // does that) and sends nothing on it: server.close() would wait for it until headersTimeout
        // (60 s). Once the server stops listening (after the open streams were ended), it is cut.
        const reaper = setInterval(() => {
          if (!app.server.listening) app.server.closeAllConnections();
        }, 20);
        try {
          await app.close();
        } finally {
          clearInterval(reaper);
        }
        await auth.close();
      })();
      return stopping;
    },
  };
}

/** A resource server whose logger is silent unless one is given. */
export function resourceServer<U = TokenUser>(options: ResourceServerOptions<U>): Promise<ResourceServer<U>> {
  return createResourceServer({ logger: SILENT, ...options });
}

/** A plain HTTP server answering with `handler` (a hand-made JWKS, a server that never answers). */
export async function plainServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
  port = 0,
): Promise<{ url: string; server: Server; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const server = createServer((request, response) => {
    requests++;
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A JWKS server whose key set can be replaced while it runs. */
export async function jwksServer(initial: { keys: unknown[] }) {
  let document: unknown = initial;
  const server = await plainServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(document));
  });
  return {
    ...server,
    jwkUrl: `${server.url}/.well-known/jwks.json`,
    publish(next: unknown) {
      document = next;
    },
  };
}

/** Signs an access token by hand (fast-jwt), with the header's `kid` and `alg` as given. */
export function signAccess(
  key: string,
  algorithm: Algorithm,
  options: { kid?: string; userId?: number; nowMs?: number; jti?: string } = {},
): string {
  const nowSeconds = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const sign = createSigner({ key, algorithm, ...(options.kid !== undefined ? { kid: options.kid } : {}), noTimestamp: true });
  return sign({
    token_type: 'access',
    exp: nowSeconds + 300,
    iat: nowSeconds,
    jti: options.jti ?? `${Math.random().toString(36).slice(2)}${Date.now()}`,
    user_id: options.userId ?? 1,
  });
}

/** The decoded header of a JWT. */
export function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8'));
}

/** A token whose header names `kid` (signature garbage): the kind a resource server must refetch for, within its cooldown. */
export function tokenWithKid(kid: string, algorithm = 'ES256'): string {
  const header = Buffer.from(JSON.stringify({ alg: algorithm, typ: 'JWT', kid })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ token_type: 'access', user_id: 1, jti: 'x', exp: 4e9, iat: 1 })).toString('base64url');
  return `${header}.${payload}.${Buffer.from('not a signature').toString('base64url')}`;
}

/** Whether `server` accepts the access token now (false for a token error, other errors rethrown). */
export async function acceptsNow(server: ResourceServer<unknown>, token: string): Promise<boolean> {
  try {
    await server.verify(token);
    return true;
  } catch (error) {
    if ((error as { status?: number }).status === 401) return false;
    throw error;
  }
}

/** What `promise` rejected with (fails the test when it resolved). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  expect.fail('expected a rejection');
}

/** The error a synchronous call throws (fails the test when it returned). */
export function thrown(call: () => unknown): Error {
  try {
    call();
  } catch (error) {
    return error as Error;
  }
  expect.fail('expected an exception');
}

/** One Server-Sent Event as read off the wire. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * A Server-Sent Events reader of our own (not the library's parser): connects with `headers`, and
 * collects events until closed. `status` and `headers` are the response's.
 */
export async function openEventStream(url: string, headers: Record<string, string>) {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const events: SseEvent[] = [];
  let ended = false;
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  if (response.status === 200 && response.body) {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let blank = buffer.indexOf('\n\n');
          while (blank !== -1) {
            const block = buffer.slice(0, blank);
            buffer = buffer.slice(blank + 2);
            const event: SseEvent = { event: 'message', data: '', id: undefined };
            const data: string[] = [];
            for (const line of block.split('\n')) {
              const colon = line.indexOf(':');
              const field = colon === -1 ? line : line.slice(0, colon);
              const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
              if (field === 'event') event.event = value;
              else if (field === 'data') data.push(value);
              else if (field === 'id') event.id = value;
            }
            if (data.length) {
              event.data = data.join('\n');
              events.push(event);
              notify();
            }
            blank = buffer.indexOf('\n\n');
          }
        }
      } catch {
        // Aborted by close(), or the server went away.
      } finally {
        ended = true;
        notify();
      }
    })();
  } else {
    ended = true;
  }
  return {
    response,
    status: response.status,
    events,
    /** Whether the server ended the response. */
    ended: () => ended,
    /** Resolves with the first event (from index `from`) matching `predicate`; rejects past `timeoutMs` or at the end. */
    next(predicate: (event: SseEvent) => boolean, from = 0, timeoutMs = 15_000): Promise<SseEvent> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.slice(from).find(predicate);
          if (found) {
            done();
            resolve(found);
          } else if (ended) {
            done();
            reject(new Error(`the stream ended without the event; got ${JSON.stringify(events)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no such event within ${timeoutMs} ms; got ${JSON.stringify(events)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      controller.abort();
    },
  };
}

/** HTTP Basic credentials of an OAuth client. */
export const basic = (client: { clientId: string; clientSecret: string }) =>
  `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;

/** Sleeps; only ever to let a cooldown or a bound pass, never to wait for an effect. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a resource server makes of a token now: accepted, revoked, refused for staleness, or invalid. */
export async function outcome(
  server: { verify(token: string): Promise<unknown> },
  token: string,
): Promise<'accepted' | 'revoked' | 'stale' | 'invalid'> {
  try {
    await server.verify(token);
    return 'accepted';
  } catch (error) {
    if (error instanceof StaleRevocationStateError) return 'stale';
    if (error instanceof TokenRevokedError) return 'revoked';
    if (error instanceof TokenError) return 'invalid';
    throw error;
  }
}
