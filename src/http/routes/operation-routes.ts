import type { Auth } from '../../auth.ts';
import { type ResponseSpec, answers, schemas } from '../openapi.ts';
import type { Route, RouteOptions } from '../routes.ts';
import { ok } from './shared.ts';
import { metricsTokenMatches } from '../metrics-token.ts';
import { RequestError } from '../../errors.ts';

/** How long `GET /readyz` waits for the database. */
export const READY_PING_TIMEOUT_MS = 1000;

/** For operators: liveness, readiness and the Prometheus metrics. */
export function operationRoutes(auth: Auth, options: RouteOptions): Route[] {
  const routes: Route[] = [
    {
      path: '/healthz',
      method: 'GET',
      name: 'Health',
      authenticated: false,
      schema: {
        summary: 'Liveness: the process answers',
        description: 'Checks neither the database nor the revocation state (`GET /readyz` does).',
        tag: 'Operations',
        security: 'none',
        responses: { 200: { description: '`{"status":"ok"}`', json: schemas.health } },
      },
      async handle() {
        return ok({ status: 'ok' });
      },
    },
    {
      path: '/readyz',
      method: 'GET',
      name: 'Readiness',
      authenticated: false,
      schema: {
        summary: 'Readiness: the database answers and the revocation state is fresh',
        tag: 'Operations',
        security: 'none',
        responses: {
          200: { description: '`{"status":"ready"}`', json: schemas.readiness },
          503: { description: '`{"status":"not_ready","checks":{"database","revocation_state"}}`', json: schemas.readiness },
        },
      },
      async handle() {
        const database = await auth.store.ping(READY_PING_TIMEOUT_MS).then(
          () => 'ok',
          () => 'unavailable',
        );
        const checks = { database, revocation_state: auth.isRevocationStateStale() ? 'stale' : 'ok' };
        const ready = checks.database === 'ok' && checks.revocation_state === 'ok';
        return {
          status: ready ? 200 : 503,
          body: ready ? { status: 'ready' } : { status: 'not_ready', checks },
          headers: { 'cache-control': 'no-store' },
        };
      },
    },
  ];
  const metrics = options.metrics ?? true;
  if (metrics !== false) {
    const token = typeof metrics === 'object' ? metrics.token : undefined;
    const metricsRefusal: Record<number, ResponseSpec> = {
      401: { ...answers.protected[401], description: 'Without the metrics token' },
    };
    routes.push({
      path: '/metrics',
      method: 'GET',
      name: 'Metrics',
      authenticated: false,
      schema: {
        summary: 'Prometheus metrics',
        description: 'docs/api.md#metrics lists them. Not for the public internet.',
        tag: 'Operations',
        security: token ? 'metrics' : 'none',
        responses: {
          200: { description: 'The Prometheus text format', content: { type: 'text/plain; version=0.0.4', schema: { type: 'string' } } },
          ...(token ? metricsRefusal : {}),
        },
      },
      async handle({ request }) {
        if (token && !metricsTokenMatches(request.headers.authorization, token)) {
          throw new RequestError(401, 'not_authenticated', 'Authentication credentials were not provided.');
        }
        const scraped = await auth.metrics.scrape();
        return { status: 200, text: scraped.text, headers: { 'content-type': scraped.contentType, 'cache-control': 'no-store' } };
      },
    });
  }
  return routes;
}
