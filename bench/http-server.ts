/**
 * One server of the HTTP comparison (bench/http.ts), in a process of its own: `tsx bench/http-server.ts
 * <kind> <sqlite file>`, forked by the benchmark. It listens on 127.0.0.1 (a free port), says so over
 * IPC, answers `{ type: 'cpu' }` with its CPU time so far, and closes on `{ type: 'stop' }`.
 *
 * Every kind serves `GET /api/me/` to a valid HS256 bearer token with a small JSON body, no logger:
 * - `fastify`: bare Fastify, no authentication at all (the ceiling of the HTTP stack);
 * - `fastify-jwt`: bare Fastify with @fastify/jwt verifying the token (`request.jwtVerify()`), `{"id"}`;
 * - `revocable-resource`: Fastify with revocable's adapter (`revocable/fastify`, `requireAuth`) over a
 *   stateless `createResourceServer` following the revocation log of the SQLite file, `{"id"}`;
 * - `revocable-me`: the standalone server (`buildServer`) on the SQLite file: its own `GET /api/me/`,
 *   which looks the user up in the database, `{"id","username"}`;
 * - `express-passport`: Express 5 with passport-jwt (jsonwebtoken underneath), `{"id"}`.
 */
import { createSecretKey } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import fastifyJwt from '@fastify/jwt';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { revocable } from '../src/adapters/fastify.ts';
import { buildServer } from '../src/http/fastify.ts';
import { type TokenUser, createResourceServer } from '../src/index.ts';
import { BENCH_KEY, benchAuth } from './fixtures.ts';
import { type FromServer, HTTP_BENCH_SETTINGS, SERVER_KINDS, type ServerKind, type ToServer } from './http-protocol.ts';

interface Running {
  port: number;
  close(): Promise<void>;
}

const send = (message: FromServer) => process.send?.(message);

async function listenFastify(app: FastifyInstance, close: () => Promise<void> = async () => {}): Promise<Running> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    port,
    async close() {
      await app.close();
      await close();
    },
  };
}

async function start(kind: ServerKind, database: string): Promise<Running> {
  switch (kind) {
    case 'fastify': {
      const app = Fastify({ logger: false });
      app.get('/api/me/', async () => ({ id: 1 }));
      return listenFastify(app);
    }
    case 'fastify-jwt': {
      const app = Fastify({ logger: false });
      await app.register(fastifyJwt, { secret: BENCH_KEY, verify: { algorithms: ['HS256'] } });
      app.get('/api/me/', {
        onRequest: async (request) => {
          await request.jwtVerify();
        },
        handler: async (request) => ({ id: (request.user as { user_id: number }).user_id }),
      });
      return listenFastify(app);
    }
    case 'revocable-resource': {
      const server = await createResourceServer({
        settings: { signingKey: BENCH_KEY },
        revocations: { database: `sqlite:${database}` },
        logger: { error: (...args: unknown[]) => console.error(...args), warn: () => {} },
      });
      const app = Fastify({ logger: false });
      await app.register(revocable, { server });
      app.get('/api/me/', { onRequest: app.requireAuth, handler: async (request) => ({ id: (request.auth!.user as TokenUser).id }) });
      return listenFastify(app, () => server.close());
    }
    case 'revocable-me': {
      const auth = await benchAuth(database, HTTP_BENCH_SETTINGS);
      const app = await buildServer(auth);
      return listenFastify(app, () => auth.close());
    }
    case 'express-passport': {
      passport.use(
        new JwtStrategy(
          {
            jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
            // A KeyObject (passed through to jsonwebtoken): with the string secret of passport-jwt's README,
            // jsonwebtoken first tries to parse it as a public key on every request (see section 2).
            secretOrKey: createSecretKey(Buffer.from(BENCH_KEY, 'utf8')) as unknown as string,
            algorithms: ['HS256'],
          },
          (payload: unknown, done: (error: unknown, user?: unknown) => void) => done(null, payload),
        ),
      );
      const app = express();
      app.get('/api/me/', passport.authenticate('jwt', { session: false }), (request, response) => {
        response.json({ id: (request.user as { user_id: number }).user_id });
      });
      const server = app.listen(0, '127.0.0.1');
      await new Promise<void>((resolve, reject) => {
        server.once('listening', resolve);
        server.once('error', reject);
      });
      return {
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      };
    }
  }
}

const [kind, database] = process.argv.slice(2) as [ServerKind, string];
try {
  if (!SERVER_KINDS.includes(kind) || !database) throw new Error(`usage: http-server.ts <${SERVER_KINDS.join('|')}> <sqlite file>`);
  const running = await start(kind, database);
  process.on('message', async (message: ToServer) => {
    if (message.type === 'cpu') {
      const usage = process.cpuUsage();
      send({ type: 'cpu', userUs: usage.user, systemUs: usage.system });
    } else if (message.type === 'stop') {
      await running.close();
      process.disconnect?.();
      // A --cpu-prof profile is written on a normal exit.
      process.exit(0);
    }
  });
  // The benchmark gone (killed, crashed), its server goes too.
  process.once('disconnect', () => process.exit(0));
  send({ type: 'listening', port: running.port });
} catch (error) {
  send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
}
