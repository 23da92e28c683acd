import { SettingsError } from '../errors.ts';
import type { RevocationBus } from './bus.ts';
import { inProcessBus } from './in-process.ts';

/**
 * A bus from a URL: `redis://…` (or `rediss://…`) for Redis pub/sub, `postgres://…` for PostgreSQL
 * LISTEN/NOTIFY, `memory` (or `memory:<channel>`) for instances in one process.
 */
export async function openBus(url: string, options: { logger?: Pick<Console, 'error' | 'warn'> } = {}): Promise<RevocationBus> {
  if (/^rediss?:\/\//.test(url)) return (await import('./redis.ts')).redisBus(url, options);
  if (/^postgres(ql)?:\/\//.test(url)) return (await import('./postgres-notify.ts')).postgresNotifyBus(url, options);
  if (url === 'memory' || url.startsWith('memory:')) return inProcessBus(url.slice('memory:'.length) || 'default');
  throw new SettingsError('bus', `unsupported bus "${url}" (use redis://…, postgres://… or memory)`);
}
