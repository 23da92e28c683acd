import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Clock } from '../clock.ts';
import { SettingsError, ThrottledError } from '../errors.ts';
import type { Settings } from '../settings/settings.ts';
import { memoryThrottleStore } from './memory.ts';

/** One fixed-window counter: at most `limit` counts per window of `windowMs`, the window starting at its first count. */
export interface ThrottleCounter {
  key: string;
  limit: number;
  windowMs: number;
}

/**
 * Where login throttling counts: in memory ({@link memoryThrottleStore}, one instance) or in Redis
 * (`redisThrottleStore`, shared by every instance). Each method is atomic over the counters it is given.
 */
export interface ThrottleStore {
  /**
   * If any counter has reached its limit, counts nothing and answers the milliseconds until the last of
   * those that have reached it starts a new window (at least 1). Otherwise adds one to every counter
   * (a counter that does not exist, or whose window is over, starts a new window) and answers undefined.
   */
  acquire(counters: readonly ThrottleCounter[]): Promise<number | undefined>;
  /** Takes one back from each counter that still exists in its window (never below zero). */
  release(counters: readonly ThrottleCounter[]): Promise<void>;
  /** Deletes the counters. */
  reset(counters: readonly ThrottleCounter[]): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** What a login that passed the throttle reports back when it is over. A failed login reports nothing: it stays counted. */
export interface LoginAttempt {
  /** The password was right: the username's failures are forgotten, and this attempt is not a failure of the address. */
  succeeded(): Promise<void>;
  /** The login could not be decided (the database failed): it counts as no failure. */
  abandoned(): Promise<void>;
}

const NOTHING_TO_REPORT: LoginAttempt = { succeeded: async () => {}, abandoned: async () => {} };

/**
 * The counter key of a client address: IPv4 as it is (an IPv4-mapped IPv6 address too), IPv6 by its
 * /64 prefix, since one subscriber commonly holds a whole /64.
 */
export function addressKey(ip: string): string {
  if (isIPv4(ip)) return ip;
  const bare = ip.split('%')[0] ?? ip;
  if (!isIPv6(bare)) return ip;
  const groups = ipv6Groups(bare);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (zone already removed). */
function ipv6Groups(ip: string): number[] {
  let text = ip.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const middle = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((group) => Number.parseInt(group, 16));
}

/**
 * The counter key of a username: Unicode NFKC and lower case, so that `Alice`, `ALICE` and `Ａｌｉｃｅ`
 * share one budget (a case-insensitive database collation would let them all log in as `alice`), hashed
 * so that no username is kept in the throttle store and every key has the same length.
 */
export function usernameKey(username: string): string {
  return createHash('sha256').update(username.normalize('NFKC').toLowerCase()).digest('base64url').slice(0, 22);
}

/**
 * The login throttle: checked before the password is verified, so a refused attempt costs one counter
 * read and no hashing. Three fixed-window limits, each off at 0:
 * - every attempt from one address (`loginAttemptsPerIp` per `loginAttemptWindow`), generous: an office
 *   shares one address;
 * - failed attempts for one username, from anywhere (`loginFailuresPerUsername` per `loginFailureWindow`);
 * - failed attempts from one address, whatever the usernames (`loginFailuresPerIp` per `loginFailureWindow`).
 *
 * A failure is counted before the password is verified and taken back when it was right, so concurrent
 * guesses cannot all slip under a limit: at most `limit` verifications per window. An attempt without
 * an address (a library call without `context.ip`) is counted per username only. A store that fails lets
 * the attempt through (logged): logins never stop because the throttle's storage is down.
 */
export function createLoginThrottle(
  settings: Settings,
  store: ThrottleStore,
  logger: Pick<Console, 'error' | 'warn'>,
): { begin(username: string, ip: string | undefined): Promise<LoginAttempt> } {
  const failureWindowMs = settings.loginFailureWindow * 1000;
  const attemptWindowMs = settings.loginAttemptWindow * 1000;
  const quietly = async (what: string, action: () => Promise<void>) => {
    try {
      await action();
    } catch (error) {
      logger.warn(`revocable: login throttle could not ${what} (${(error as Error).message})`);
    }
  };
  return {
    async begin(username, ip) {
      const address = ip ? addressKey(ip) : undefined;
      const user: ThrottleCounter[] = [];
      const addressFailures: ThrottleCounter[] = [];
      const counters: ThrottleCounter[] = [];
      if (address && settings.loginAttemptsPerIp > 0) {
        counters.push({ key: `login:attempts:ip:${address}`, limit: settings.loginAttemptsPerIp, windowMs: attemptWindowMs });
      }
      if (settings.loginFailuresPerUsername > 0) {
        user.push({ key: `login:failures:user:${usernameKey(username)}`, limit: settings.loginFailuresPerUsername, windowMs: failureWindowMs });
      }
      if (address && settings.loginFailuresPerIp > 0) {
        addressFailures.push({ key: `login:failures:ip:${address}`, limit: settings.loginFailuresPerIp, windowMs: failureWindowMs });
      }
      counters.push(...user, ...addressFailures);
      if (!counters.length) return NOTHING_TO_REPORT;
      let waitMs: number | undefined;
      try {
        waitMs = await store.acquire(counters);
      } catch (error) {
        logger.warn(`revocable: login throttle unavailable, attempt let through (${(error as Error).message})`);
        return NOTHING_TO_REPORT;
      }
      if (waitMs !== undefined) throw new ThrottledError(waitMs / 1000);
      return {
        succeeded: () =>
          quietly('record a successful login', async () => {
            if (user.length) await store.reset(user);
            if (addressFailures.length) await store.release(addressFailures);
          }),
        abandoned: () => quietly('take back an undecided login', () => store.release([...user, ...addressFailures])),
      };
    },
  };
}

/**
 * A throttle store from a URL: `redis://…` or `rediss://…` (shared by every instance using the same
 * Redis and `prefix`), or `memory` (this process). The memory store runs on `clock`; Redis on its own time.
 */
export async function openThrottleStore(
  url: string,
  options: { clock?: Clock; logger?: Pick<Console, 'error' | 'warn'>; prefix?: string } = {},
): Promise<ThrottleStore> {
  if (/^rediss?:\/\//.test(url)) return (await import('./redis.ts')).redisThrottleStore(url, options);
  if (url === 'memory') return memoryThrottleStore(options);
  throw new SettingsError('throttle', `unsupported throttle store "${url}" (use redis://… or memory)`);
}
