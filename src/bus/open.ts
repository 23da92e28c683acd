import { SettingsError } from '../errors.ts';
import type { RevocationBus } from './bus.ts';
import { inProcessBus } from './in-process.ts';

/**
 * A bus from a URL (`channel` names the deployment: instances hear only their own channel, so two
 * deployments can share one Redis or one PostgreSQL database): `redis://…` (or `rediss://…`) for Redis pub/sub, `postgres://…` for PostgreSQL
 * LISTEN/NOTIFY, `memory` (or `memory:<channel>`) for instances in one process.
 */
export async function openBus(
  url: string,
  options: { logger?: Pick<Console, 'error' | 'warn'>; channel?: string } = {},
): Promise<RevocationBus> {
  if (options.channel !== undefined && !/^[a-z_][a-z0-9_]{0,40}$/.test(options.channel)) {
    throw new SettingsError('busChannel', 'must be lowercase letters, digits and underscores (at most 41)');
  }
  if (/^rediss?:\/\//.test(url)) return (await import('./redis.ts')).redisBus(url, options);
  if (/^postgres(ql)?:\/\//.test(url)) return (await import('./postgres-notify.ts')).postgresNotifyBus(url, options);
  if (url === 'memory' || url.startsWith('memory:')) {
    return inProcessBus(options.channel ?? (url.slice('memory:'.length) || 'default'));
  }
  throw new SettingsError('bus', `unsupported bus "${url}" (use redis://…, postgres://… or memory)`);
}
