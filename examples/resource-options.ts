import type { ResourceServerOptions } from 'revocable';

/**
 * The examples' configuration, from the environment:
 * - `AUTH_URL`: the auth server (`revocable serve`), e.g. http://127.0.0.1:8000.
 * - `REVOCABLE_ALGORITHM` (default HS256) with `REVOCABLE_SIGNING_KEY` (the shared secret); for an
 *   asymmetric algorithm the keys come from `${AUTH_URL}/.well-known/jwks.json`.
 * - `REVOCATIONS=feed` (default): the auth server's SSE feed, with `CLIENT_ID` and `CLIENT_SECRET` from
 *   `revocable clients add`; `REVOCATIONS=bus`: the auth server's database (`DATABASE_URL`) and bus
 *   (`REDIS_URL`, or the PostgreSQL database's NOTIFY when there is none) on `REVOCABLE_BUS_CHANNEL`.
 */
export function resourceOptionsFromEnv(env = process.env): ResourceServerOptions {
  const authUrl = required(env, 'AUTH_URL').replace(/\/$/, '');
  const algorithm = (env.REVOCABLE_ALGORITHM || 'HS256') as NonNullable<ResourceServerOptions['settings']['algorithm']>;
  const settings: ResourceServerOptions['settings'] = algorithm.startsWith('HS')
    ? { algorithm, signingKey: required(env, 'REVOCABLE_SIGNING_KEY') }
    : { algorithm, jwkUrl: `${authUrl}/.well-known/jwks.json` };
  if (env.REVOCABLE_REVOCATION_POLL_INTERVAL) settings.revocationPollInterval = env.REVOCABLE_REVOCATION_POLL_INTERVAL;
  if (env.REVOCABLE_MAX_REVOCATION_STALENESS) settings.maxRevocationStaleness = env.REVOCABLE_MAX_REVOCATION_STALENESS;
  const revocations: ResourceServerOptions['revocations'] =
    (env.REVOCATIONS || 'feed') === 'feed'
      ? {
          feed: `${authUrl}/api/revocations/stream/`,
          clientId: required(env, 'CLIENT_ID'),
          clientSecret: required(env, 'CLIENT_SECRET'),
        }
      : {
          database: required(env, 'DATABASE_URL'),
          bus: env.REDIS_URL || required(env, 'DATABASE_URL'),
          ...(env.REVOCABLE_BUS_CHANNEL ? { busChannel: env.REVOCABLE_BUS_CHANNEL } : {}),
        };
  return { settings, revocations };
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set (see examples/README.md)`);
  return value;
}
