import { readFileSync } from 'node:fs';
import { SettingsError } from '../errors.ts';
import { ALGORITHMS, type Algorithm, type SettingsInput } from '../settings/settings.ts';
import { DEFAULT_DATABASE_URL } from '../store/open.ts';

/** Everything the CLI reads from the environment. */
export interface CliConfig {
  databaseUrl: string;
  /** `REDIS_URL` for Redis pub/sub, or DATABASE_URL when `REVOCABLE_BUS=postgres`; none otherwise. */
  busUrl: string | undefined;
  /** `REVOCABLE_BUS_CHANNEL`: the deployment's channel on a shared bus. */
  busChannel: string | undefined;
  /** `REDIS_URL`, where login throttling counts for every instance (whatever the bus); in memory otherwise. */
  throttleUrl: string | undefined;
  /** `REVOCABLE_SIGNING_KEY`, or the contents of the file `REVOCABLE_SIGNING_KEY_FILE` names. */
  signingKey: string | undefined;
  /** `REVOCABLE_ALGORITHM`, checked here: the key generated for a SQLite file depends on it. */
  algorithm: Algorithm;
  settings: Omit<SettingsInput, 'signingKey'>;
  /** The variable each key came from, to name it in errors (the `_FILE` one when a file was read). */
  keyEnv: { signingKey: string; verifyingKey: string };
  host: string;
  port: number;
  /** `REVOCABLE_METRICS` (default true) serves `GET /metrics`; with `REVOCABLE_METRICS_TOKEN`, only to that bearer token. */
  metrics: { enabled: boolean; token: string | undefined };
  /**
   * `REVOCABLE_TRUST_PROXY`: trust `X-Forwarded-*` from the proxy in front (client IPs for sessions,
   * audit and throttling; HTTPS for the admin cookie): `true` (any proxy), or the proxies' addresses / CIDRs.
   */
  trustProxy: boolean | string[];
}

/** `REVOCABLE_TRUST_PROXY`: unset or `false` trusts nothing. */
function readTrustProxy(value: string | undefined): boolean | string[] {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  const addresses = value.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (addresses.length === 0 || addresses.some((part) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(part))) {
    throw new SettingsError('REVOCABLE_TRUST_PROXY', `must be "true", "false", or the proxies' addresses / CIDRs (comma-separated), got "${value}"`);
  }
  return addresses;
}

/** The environment variable behind each setting the CLI sets, to name it in errors. */
export const SETTING_ENV: Record<string, string> = {
  signingKey: 'REVOCABLE_SIGNING_KEY',
  verifyingKey: 'REVOCABLE_VERIFYING_KEY',
  algorithm: 'REVOCABLE_ALGORITHM',
  accessTokenLifetime: 'REVOCABLE_ACCESS_TOKEN_LIFETIME',
  refreshTokenLifetime: 'REVOCABLE_REFRESH_TOKEN_LIFETIME',
  rotateRefreshTokens: 'REVOCABLE_ROTATE_REFRESH_TOKENS',
  blacklistAfterRotation: 'REVOCABLE_BLACKLIST_AFTER_ROTATION',
  revocationPollInterval: 'REVOCABLE_REVOCATION_POLL_INTERVAL',
  maxRevocationStaleness: 'REVOCABLE_MAX_REVOCATION_STALENESS',
  failOpen: 'REVOCABLE_FAIL_OPEN',
  flushExpiredInterval: 'REVOCABLE_FLUSH_EXPIRED_INTERVAL',
  busChannel: 'REVOCABLE_BUS_CHANNEL',
  loginFailuresPerUsername: 'REVOCABLE_LOGIN_FAILURES_PER_USERNAME',
  loginFailuresPerIp: 'REVOCABLE_LOGIN_FAILURES_PER_IP',
  loginFailureWindow: 'REVOCABLE_LOGIN_FAILURE_WINDOW',
  loginAttemptsPerIp: 'REVOCABLE_LOGIN_ATTEMPTS_PER_IP',
  loginAttemptWindow: 'REVOCABLE_LOGIN_ATTEMPT_WINDOW',
};

/** A login throttle limit: a whole number, 0 for off; unset or empty for the default. */
function readLimit(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,9}$/.test(value)) throw new SettingsError(name, `must be a whole number (0 turns the limit off), got "${value}"`);
  return Number(value);
}

function readBoolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new SettingsError(name, `must be "true" or "false", got "${value}"`);
}

/**
 * A key given directly (`name`) or as a file (`name_FILE`, PEM or JWK, read whole and trimmed): not
 * both. Answers the key and the variable it came from.
 */
function readKey(env: NodeJS.ProcessEnv, name: string): { key: string | undefined; from: string } {
  const fileName = `${name}_FILE`;
  const value = env[name] || undefined;
  const file = env[fileName] || undefined;
  if (file === undefined) return { key: value, from: name };
  if (value !== undefined) throw new SettingsError(name, `is set and so is ${fileName}: set one of them`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new SettingsError(fileName, `cannot read "${file}": ${(error as Error).message}`);
  }
  if (text === '') throw new SettingsError(fileName, `"${file}" is empty`);
  return { key: text, from: fileName };
}

/**
 * Reads the CLI's configuration. The standalone server rotates refresh tokens and blacklists the
 * rotated ones by default (the safe choice), and flushes expired rows every hour; the library keeps
 * Simple JWT's defaults (and no scheduled flush).
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const settings: Omit<SettingsInput, 'signingKey'> = {
    rotateRefreshTokens: readBoolean(env, 'REVOCABLE_ROTATE_REFRESH_TOKENS', true),
    blacklistAfterRotation: readBoolean(env, 'REVOCABLE_BLACKLIST_AFTER_ROTATION', true),
  };
  if (env.REVOCABLE_ACCESS_TOKEN_LIFETIME) settings.accessTokenLifetime = env.REVOCABLE_ACCESS_TOKEN_LIFETIME;
  if (env.REVOCABLE_REFRESH_TOKEN_LIFETIME) settings.refreshTokenLifetime = env.REVOCABLE_REFRESH_TOKEN_LIFETIME;
  if (env.REVOCABLE_REVOCATION_POLL_INTERVAL) settings.revocationPollInterval = env.REVOCABLE_REVOCATION_POLL_INTERVAL;
  if (env.REVOCABLE_MAX_REVOCATION_STALENESS) settings.maxRevocationStaleness = env.REVOCABLE_MAX_REVOCATION_STALENESS;
  if (env.REVOCABLE_FAIL_OPEN) settings.failOpen = readBoolean(env, 'REVOCABLE_FAIL_OPEN', false);
  // The standalone server cleans up after itself (hourly, in batches); the library leaves it to the host.
  settings.flushExpiredInterval = env.REVOCABLE_FLUSH_EXPIRED_INTERVAL || '1h';
  for (const setting of ['loginFailuresPerUsername', 'loginFailuresPerIp', 'loginAttemptsPerIp'] as const) {
    const limit = readLimit(env, SETTING_ENV[setting] as string);
    if (limit !== undefined) settings[setting] = limit;
  }
  if (env.REVOCABLE_LOGIN_FAILURE_WINDOW) settings.loginFailureWindow = env.REVOCABLE_LOGIN_FAILURE_WINDOW;
  if (env.REVOCABLE_LOGIN_ATTEMPT_WINDOW) settings.loginAttemptWindow = env.REVOCABLE_LOGIN_ATTEMPT_WINDOW;
  const algorithm = (env.REVOCABLE_ALGORITHM || 'HS256') as Algorithm;
  if (!ALGORITHMS.includes(algorithm)) {
    throw new SettingsError('REVOCABLE_ALGORITHM', `must be one of ${ALGORITHMS.join(', ')}, got "${algorithm}"`);
  }
  settings.algorithm = algorithm;
  const signing = readKey(env, 'REVOCABLE_SIGNING_KEY');
  const verifying = readKey(env, 'REVOCABLE_VERIFYING_KEY');
  if (verifying.key !== undefined) settings.verifyingKey = verifying.key;

  const portText = env.PORT ?? '8000';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new SettingsError('PORT', `must be a port number, got "${portText}"`);
  const host = env.HOST || '127.0.0.1';
  const databaseUrl = env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const busKind = env.REVOCABLE_BUS || (env.REDIS_URL ? 'redis' : 'none');
  let busUrl: string | undefined;
  if (busKind === 'redis') {
    if (!env.REDIS_URL) throw new SettingsError('REVOCABLE_BUS', 'is "redis" but REDIS_URL is not set');
    busUrl = env.REDIS_URL;
  } else if (busKind === 'postgres') {
    if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
      throw new SettingsError('REVOCABLE_BUS', 'is "postgres" but DATABASE_URL is not a postgres:// URL');
    }
    busUrl = databaseUrl;
  } else if (busKind !== 'none') {
    throw new SettingsError('REVOCABLE_BUS', `must be "redis", "postgres" or "none", got "${busKind}"`);
  }
  return {
    databaseUrl,
    busUrl,
    busChannel: env.REVOCABLE_BUS_CHANNEL || undefined,
    throttleUrl: env.REDIS_URL || undefined,
    signingKey: signing.key,
    algorithm,
    settings,
    keyEnv: { signingKey: signing.from, verifyingKey: verifying.from },
    host,
    port,
    metrics: { enabled: readBoolean(env, 'REVOCABLE_METRICS', true), token: env.REVOCABLE_METRICS_TOKEN || undefined },
    trustProxy: readTrustProxy(env.REVOCABLE_TRUST_PROXY),
  };
}
