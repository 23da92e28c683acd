import type { Clock } from '../clock.ts';
import { SettingsError } from '../errors.ts';
import { loadDriver } from '../store/driver.ts';
import { memoryThrottleStore } from './memory.ts';
import type { ThrottleCounter, ThrottleStore } from './throttle.ts';

/** KEYS: the counters; ARGV: limit and window (ms) of each. Checks every counter, then counts on all or none. */
const ACQUIRE = `
local wait = 0
for i = 1, #KEYS do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count >= tonumber(ARGV[2 * i - 1]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then
      ttl = tonumber(ARGV[2 * i])
      redis.call('PEXPIRE', KEYS[i], ttl)
    end
    if ttl < 1 then ttl = 1 end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for i = 1, #KEYS do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[2 * i]) end
end
return 0
`;

/** KEYS: the counters. Takes one back from each that exists; one at 1 is deleted, so none is left without expiry. */
const RELEASE = `
for i = 1, #KEYS do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count > 1 then redis.call('DECR', KEYS[i]) elseif count == 1 then redis.call('DEL', KEYS[i]) end
end
return 0
`;

type ThrottleRedis = import('ioredis').default & {
  revocableThrottleAcquire(numKeys: number, ...args: (string | number)[]): Promise<number>;
  revocableThrottleRelease(numKeys: number, ...args: string[]): Promise<number>;
};

/**
 * Login throttle counters in Redis (`ioredis`), shared by every instance that uses the same Redis and
 * `prefix` (default `revocable`, the bus channel's default): keys `<prefix>:throttle:<counter>`, counted
 * by Lua scripts (atomic check-and-INCR, PEXPIRE when a window starts), so the windows run on Redis's
 * clock. While Redis is unreachable (commands fail at once, or after 500 ms when it hangs) each instance
 * counts in its own memory instead, on `clock`, and says so once in the log: logins never stop because
 * Redis is down.
 */
export async function redisThrottleStore(
  url: string,
  options: { prefix?: string; logger?: Pick<Console, 'error' | 'warn'>; clock?: Clock } = {},
): Promise<ThrottleStore> {
  const prefix = options.prefix ?? 'revocable';
  if (!/^[A-Za-z0-9_.:-]{1,100}$/.test(prefix)) {
    throw new SettingsError('throttle', 'the key prefix must be letters, digits, "_", ".", ":" or "-" (at most 100)');
  }
  const module = await loadDriver<typeof import('ioredis') & { default: typeof import('ioredis').default }>(
    'ioredis',
    'The Redis throttle store',
    'throttle',
  );
  const Redis = module.default ?? (module as unknown as typeof import('ioredis').default);
  const logger = options.logger ?? console;
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    commandTimeout: 500,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
  }) as ThrottleRedis;
  redis.defineCommand('revocableThrottleAcquire', { lua: ACQUIRE });
  redis.defineCommand('revocableThrottleRelease', { lua: RELEASE });
  const local = memoryThrottleStore(options.clock ? { clock: options.clock } : {});

  let down = false;
  const failed = (what: string, error: Error) => {
    if (down) return;
    down = true;
    logger.warn(
      `revocable: Redis throttle store ${what} (${error.message}); login throttling counts on this instance alone until it is back`,
    );
  };
  redis.on('error', (error) => failed('unreachable', error));
  redis.on('ready', () => {
    down = false;
  });
  await redis.connect().catch((error) => failed('unreachable at start', error));

  const keysOf = (counters: readonly ThrottleCounter[]) => counters.map((counter) => `${prefix}:throttle:${counter.key}`);
  /** Runs on Redis, or on the local counters while Redis fails. */
  const either = async <T>(onRedis: () => Promise<T>, onLocal: () => Promise<T>): Promise<T> => {
    if (redis.status === 'ready') {
      try {
        return await onRedis();
      } catch (error) {
        failed('failed', error as Error);
      }
    }
    return onLocal();
  };

  return {
    async acquire(counters) {
      if (!counters.length) return undefined;
      return either(
        async () => {
          const args = counters.flatMap((counter) => [counter.limit, counter.windowMs]);
          const waitMs = Number(await redis.revocableThrottleAcquire(counters.length, ...keysOf(counters), ...args));
          return waitMs > 0 ? waitMs : undefined;
        },
        () => local.acquire(counters),
      );
    },
    async release(counters) {
      if (!counters.length) return;
      return either(
        async () => {
          await redis.revocableThrottleRelease(counters.length, ...keysOf(counters));
        },
        () => local.release(counters),
      );
    },
    async reset(counters) {
      if (!counters.length) return;
      return either(
        async () => {
          await redis.del(...keysOf(counters));
        },
        () => local.reset(counters),
      );
    },
    async close() {
      redis.disconnect();
      await local.close();
    },
  };
}
