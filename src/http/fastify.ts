import type { Duplex } from 'node:stream';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { ADMIN_OPENAPI_PATHS } from '../admin/openapi.ts';
import { adminPlugin } from '../admin/plugin.ts';
import type { Auth } from '../auth.ts';
import { RequestError } from '../errors.ts';
import { type HttpReply, errorReply } from './reply.ts';
import { FEED_MAX_BUFFERED_BYTES } from './revocation-feed.ts';
import type { OpenApiPaths } from './openapi.ts';
import { ALL_METHODS, type HttpRequest, type Route, type RouteOptions, createPathHandler, createRoutes } from './routes.ts';

/** Options of {@link buildServer}. */
export interface ServerOptions {
  /** Largest request body accepted, in bytes (default 1 MiB); larger is 413. */
  bodyLimit?: number;
  /** A pino logger, or false (default) for none. */
  logger?: FastifyServerOptions['loggerInstance'] | false;
  /**
   * Trust `X-Forwarded-*` from a proxy in front (Fastify's `trustProxy`): the client's IP, and HTTPS
   * for the admin's Secure cookie. Default false.
   */
  trustProxy?: FastifyServerOptions['trustProxy'];
  /**
   * Serve `GET /metrics` (default true); `{ token }` serves it only to `Authorization: Bearer <token>`.
   * Do not expose it publicly (docs/deployment.md#monitoring).
   */
  metrics?: RouteOptions['metrics'];
  /** Paths this server serves outside the route table (a plugin's), for `GET /openapi.json`. */
  openApiPaths?: OpenApiPaths;
}

/** A route as Fastify registered it: what {@link registeredRoutes} lists. */
export interface RegisteredRoute {
  methods: string[];
  url: string;
}

const registered = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Every route registered on a server made by {@link buildServer}, plugins' included (the OpenAPI test compares them with the document). */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  return [...(registered.get(app) ?? [])];
}

/** The standalone server: Simple JWT's routes and ours, on Fastify. */
export async function buildServer(auth: Auth, options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
    exposeHeadRoutes: false,
    return503OnClosing: true,
    // Closing ends every connection: an idle keep-alive (or a stream's aborted fetch) must not hold it for a minute.
    forceCloseConnections: true,
    clientErrorHandler: answerClientError,
    // A URL Fastify cannot decode (`/api/token/%E0%A4%A`) is refused before routing.
    frameworkErrors: (_error, _request, reply) =>
      send(reply, errorReply(new RequestError(400, 'bad_request', 'Malformed URL.', { withCode: true }))),
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    ...(options.trustProxy !== undefined ? { trustProxy: options.trustProxy } : {}),
  });

  const routesSeen: RegisteredRoute[] = [];
  registered.set(app, routesSeen);
  app.addHook('onRoute', (route) => {
    routesSeen.push({ methods: [route.method].flat().map(String), url: route.url });
  });

  // Every body arrives raw; the routes parse it after authentication, as DRF does. Fastify would refuse
  // a malformed Content-Type before any route runs, so the header is set aside and given back to the route.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.addHook('onRequest', async (request) => {
    const contentType = request.headers['content-type'];
    if (contentType !== undefined) {
      originalContentType.set(request, contentType);
      request.headers['content-type'] = 'application/octet-stream';
    }
  });

  // Open event streams would keep `close()` waiting for ever: they end first.
  const openStreams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...openStreams]) end();
  });

  const byPath = new Map<string, Route[]>();
  const routeOptions: RouteOptions = {
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
    // The admin pages are a plugin of their own, outside the route table; the document lists them too.
    openApiPaths: { ...ADMIN_OPENAPI_PATHS, ...options.openApiPaths },
  };
  for (const route of createRoutes(auth, routeOptions)) byPath.set(route.path, [...(byPath.get(route.path) ?? []), route]);
  for (const [path, routes] of byPath) {
    const handlePath = createPathHandler(auth, routes);
    app.route({
      method: [...ALL_METHODS],
      url: path,
      handler: async (request, reply) => {
        const httpRequest: HttpRequest = {
          method: request.method,
          headers: withOriginalContentType(request),
          rawBody: Buffer.isBuffer(request.body) ? request.body : undefined,
          params: request.params as Record<string, string>,
          ip: request.ip,
        };
        const answer = await handlePath(httpRequest);
        if (answer.stream) return sendStream(reply, answer, openStreams);
        return send(reply, answer);
      },
    });
  }

  app.setNotFoundHandler((_request, reply) =>
    send(reply, errorReply(new RequestError(404, 'not_found', 'Not found.', { withCode: true }))),
  );
  // Fastify's own refusals (body too large, bad framing) in the contract's shape; nothing else reaches here.
  app.setErrorHandler((error: { statusCode?: number; code?: string; message?: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) request.log.error(error);
    if (status === 413) {
      return send(reply, errorReply(new RequestError(413, 'request_too_large', 'Request body is too large.', { withCode: true })));
    }
    if (status >= 400 && status < 500) {
      return send(reply, errorReply(new RequestError(status, 'bad_request', 'Bad request.', { withCode: true })));
    }
    return send(reply, errorReply(error));
  });
  // The admin pages (src/admin/): HTML, its own 404 and error pages, security headers, form bodies.
  // Registered last and not awaited: it loads at ready(), so the routes above keep the error handler above.
  app.register(adminPlugin, { prefix: '/admin', auth, contentTypeOf: (request) => originalContentType.get(request) });
  return app;
}

const originalContentType = new WeakMap<FastifyRequest, string>();

function withOriginalContentType(request: FastifyRequest): HttpRequest['headers'] {
  const contentType = originalContentType.get(request);
  return contentType === undefined ? request.headers : { ...request.headers, 'content-type': contentType };
}

/** Refusals from Node's HTTP parser (oversized headers, malformed requests), in the contract's shape. */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return;
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  const body = JSON.stringify(
    tooLarge
      ? { detail: 'Request header fields too large.', code: 'headers_too_large' }
      : { detail: 'Malformed HTTP request.', code: 'bad_request' },
  );
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** An open response: Fastify lets go of it, and the stream writes until the client leaves or the server closes. */
function sendStream(reply: FastifyReply, answer: HttpReply, openStreams: Set<() => void>): void {
  const stream = answer.stream as NonNullable<HttpReply['stream']>;
  const response = reply.raw;
  reply.hijack();
  response.writeHead(answer.status, answer.headers);
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    openStreams.delete(end);
    stream.close();
    response.end();
  };
  openStreams.add(end);
  // The response's close, not the request's: a GET's request closes as soon as it has been read.
  response.once('close', end);
  stream.attach((chunk) => {
    if (ended) return;
    // A reader that stopped reading is cut off rather than buffered without end; it resumes from its cursor.
    if (response.writableLength > FEED_MAX_BUFFERED_BYTES) return end();
    response.write(chunk);
  });
}

function send(reply: FastifyReply, answer: HttpReply): FastifyReply {
  // A 5xx the routes answer on purpose (`/readyz` not ready) has no error behind it, nothing to log.
  if (answer.status >= 500 && answer.cause !== undefined) reply.log.error({ err: answer.cause, body: answer.body }, 'request failed');
  reply.code(answer.status);
  if (answer.headers) reply.headers(answer.headers);
  if (answer.text !== undefined) return reply.send(answer.text);
  if (answer.body === undefined) return reply.send();
  return reply.header('content-type', 'application/json').send(Buffer.from(JSON.stringify(answer.body)));
}
