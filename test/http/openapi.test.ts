/**
 * `GET /openapi.json`: a valid OpenAPI 3.1 document, generated from the route schemas, that lists
 * every route the server has (the route table and whatever else Fastify routes), and whose schemas
 * describe the real answers.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../../src/auth.ts';
import { buildServer, registeredRoutes } from '../../src/http/fastify.ts';
import { openApiPath } from '../../src/http/openapi.ts';
import { ALL_METHODS, createRoutes } from '../../src/http/routes.ts';
import { decodePayload, testAuth } from '../helpers.ts';
import { bearer, postJson } from './support.ts';

/** What the validator takes. */
type SpecData = Record<string, unknown>;

type Document = {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>;
};

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function fetchDocument(app: FastifyInstance): Promise<Document> {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toBe('application/json');
  return res.json() as Document;
}

/** The server ignores trailing slashes (`/admin` is `/admin/`): paths are compared without them. */
const normal = (path: string) => path.replace(/\/+$/, '') || '/';

/** `METHOD path` of every operation of the document. */
const documented = (doc: Document) =>
  Object.entries(doc.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));

/** A path handler of the route table answers every method (405 for the others); any other route is a plugin's. */
const isRouteTablePath = (methods: string[]) => ALL_METHODS.every((method) => methods.includes(method));

/** What Fastify routes that the document does not list (HEAD and OPTIONS aside: every path answers them). */
function undocumented(app: FastifyInstance, doc: Document): string[] {
  const operations = new Set(documented(doc).map((operation) => normal(operation)));
  const paths = new Set(Object.keys(doc.paths).map(normal));
  const missing: string[] = [];
  for (const route of registeredRoutes(app)) {
    const path = normal(openApiPath(route.url));
    if (isRouteTablePath(route.methods)) {
      if (!paths.has(path)) missing.push(`* ${path}`);
      continue;
    }
    for (const method of route.methods) {
      if (method !== 'HEAD' && method !== 'OPTIONS' && !operations.has(`${method} ${path}`)) missing.push(`${method} ${path}`);
    }
  }
  return missing;
}

describe('GET /openapi.json', () => {
  let auth: Auth;
  let app: FastifyInstance;
  let doc: Document;
  beforeAll(async () => {
    auth = await testAuth({ settings: { rotateRefreshTokens: true } });
    app = await buildServer(auth);
    closers.push(
      () => auth.close(),
      () => app.close(),
    );
    doc = await fetchDocument(app);
  });

  it('is a valid OpenAPI 3.1 document whose references all resolve', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as unknown as SpecData);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it('lists every route of the route table with its methods, /metrics, /readyz and itself included', () => {
    const table = createRoutes(auth).map((route) => `${route.method} ${openApiPath(route.path)}`);
    const tablePaths = new Set(createRoutes(auth).map((route) => openApiPath(route.path)));
    const onTablePaths = documented(doc).filter((operation) => tablePaths.has(operation.split(' ')[1]!));
    expect(onTablePaths.sort()).toEqual(table.sort());
    for (const operation of ['GET /metrics', 'GET /readyz', 'GET /openapi.json', 'GET /healthz', 'DELETE /api/sessions/{id}/']) {
      expect(documented(doc)).toContain(operation);
    }
  });

  it('lists every route Fastify serves, and serves every path it lists', () => {
    expect(undocumented(app, doc)).toEqual([]);
    const served = new Set(registeredRoutes(app).map((route) => normal(openApiPath(route.url))));
    expect(Object.keys(doc.paths).filter((path) => !served.has(normal(path)))).toEqual([]);
  });

  it('a route added outside the route table without documentation is caught; with extra paths it is listed', async () => {
    const before = undocumented(app, doc);
    const plain = await buildServer(auth);
    plain.get('/extra/page', async () => 'extra');
    closers.push(() => plain.close());
    expect(undocumented(plain, await fetchDocument(plain))).toEqual([...before, 'GET /extra/page']);

    const extra = { '/extra/page': { get: { summary: 'A page', responses: { 200: { description: 'HTML' } } } } };
    const documentedExtra = await buildServer(auth, { openApiPaths: extra });
    documentedExtra.get('/extra/page', async () => 'extra');
    closers.push(() => documentedExtra.close());
    const withExtra = await fetchDocument(documentedExtra);
    expect(undocumented(documentedExtra, withExtra)).toEqual(before);
    expect(withExtra.paths['/extra/page']).toEqual(extra['/extra/page']);
    expect((await new Validator().validate(withExtra as unknown as SpecData)).valid).toBe(true);
  });

  it('without metrics, /metrics is neither served nor listed; with a token, it says so', async () => {
    const without = await buildServer(auth, { metrics: false });
    const withToken = await buildServer(auth, { metrics: { token: 'secret' } });
    closers.push(
      () => without.close(),
      () => withToken.close(),
    );
    const docWithout = await fetchDocument(without);
    expect(docWithout.paths['/metrics']).toBeUndefined();
    expect(registeredRoutes(without).map((route) => route.url)).not.toContain('/metrics');
    expect((await without.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
    const metrics = (await fetchDocument(withToken)).paths['/metrics']?.get as unknown as { security: unknown };
    expect(metrics.security).toEqual([{ metricsToken: [] }]);
  });

  it('describes the real answers: bodies validate against the documented schemas', async () => {
    const validator = new Validator();
    await validator.validate(structuredClone(doc) as unknown as SpecData);
    const resolved = validator.resolveRefs() as Document;
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const expectDocumented = (res: LightMyRequestResponse, method: string, path: string) => {
      const response = resolved.paths[path]?.[method.toLowerCase()]?.responses[String(res.statusCode)];
      expect(response, `${method} ${path} ${res.statusCode} is documented`).toBeDefined();
      const schema = response!.content?.['application/json']?.schema;
      if (!schema) {
        if (!response!.content) expect(res.body).toBe('');
        return;
      }
      const validate = ajv.compile(schema);
      expect(validate(res.json()), `${method} ${path} ${res.statusCode}: ${JSON.stringify(validate.errors)}`).toBe(true);
    };

    const alice = await auth.users.create({ username: 'alice', password: 'pw' });
    const login = await postJson(app, '/api/token/', { username: 'alice', password: 'pw' });
    expectDocumented(login, 'POST', '/api/token/');
    const { access, refresh } = login.json() as { access: string; refresh: string };
    expectDocumented(await postJson(app, '/api/token/', { username: 'alice', password: 'no' }), 'POST', '/api/token/');
    expectDocumented(await postJson(app, '/api/token/', {}), 'POST', '/api/token/');
    expectDocumented(await postJson(app, '/api/token/verify/', { token: access }), 'POST', '/api/token/verify/');
    expectDocumented(await postJson(app, '/api/token/verify/', { token: 'x' }), 'POST', '/api/token/verify/');
    expectDocumented(await app.inject({ method: 'GET', url: '/api/me/', headers: bearer(access) }), 'GET', '/api/me/');
    expectDocumented(await app.inject({ method: 'GET', url: '/api/me/', headers: bearer('x') }), 'GET', '/api/me/');
    expectDocumented(await app.inject({ method: 'GET', url: '/api/sessions/', headers: bearer(access) }), 'GET', '/api/sessions/');
    expectDocumented(
      await app.inject({ method: 'DELETE', url: '/api/sessions/nope/', headers: bearer(access) }),
      'DELETE',
      '/api/sessions/{id}/',
    );
    const client = await auth.clients.create('docs');
    const basic = { authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}` };
    expectDocumented(await postJson(app, '/oauth/introspect', { token: access }, basic), 'POST', '/oauth/introspect');
    expectDocumented(await postJson(app, '/oauth/introspect', { token: 'x' }, basic), 'POST', '/oauth/introspect');
    expectDocumented(await postJson(app, '/oauth/introspect', { token: access }), 'POST', '/oauth/introspect');
    expectDocumented(await app.inject({ method: 'GET', url: '/.well-known/jwks.json' }), 'GET', '/.well-known/jwks.json');
    expectDocumented(await app.inject({ method: 'GET', url: '/healthz' }), 'GET', '/healthz');
    expectDocumented(await app.inject({ method: 'GET', url: '/readyz' }), 'GET', '/readyz');
    const refreshed = await postJson(app, '/api/token/refresh/', { refresh });
    expectDocumented(refreshed, 'POST', '/api/token/refresh/');
    expectDocumented(await postJson(app, '/api/token/refresh/', { refresh }), 'POST', '/api/token/refresh/');
    const next = refreshed.json() as { access: string };
    expect(decodePayload(next.access).user_id).toBe(alice.id);
    expectDocumented(await app.inject({ method: 'POST', url: '/api/logout-all/', headers: bearer(next.access) }), 'POST', '/api/logout-all/');
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(Object.keys(resolved.paths['/metrics']?.get?.responses['200']?.content ?? {})[0]).toBe(
      String(metrics.headers['content-type']).replace('; charset=utf-8', ''),
    );
  });
});
