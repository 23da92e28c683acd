import type { Clock } from '../clock.ts';
import type { Store } from '../store/store.ts';
import type { RevocationCache } from './cache.ts';

export interface RevocationSyncOptions {
  store: Store;
  cache: RevocationCache;
  clock: Clock;
  /** Tokens are accepted for `leeway` past their exp; entries are kept that much longer. */
  leewayMs: number;
  horizonMs: number;
  /** 0 turns the timer off (explicit `sync()` calls still work). */
  intervalMs: number;
  logger: Pick<Console, 'error'>;
}

/**
 * Keeps the cache in step with the revocation log, including entries other processes wrote (the CLI,
 * another server on the same database). Its cursor is its own: entries this process applied directly
 * never move it, so an entry another process committed earlier cannot be skipped. Reading its own
 * entries back is harmless: applying is idempotent.
 */
export function createRevocationSync(options: RevocationSyncOptions) {
  const { store, cache, clock, leewayMs, horizonMs, logger } = options;
  let cursor = 0;
  let reading: Promise<number> | undefined;

  const readOnce = async () => {
    const entries = await store.loadRevocations(clock() - leewayMs, cursor, horizonMs);
    cache.apply(entries);
    for (const entry of entries) if (entry.seq > cursor) cursor = entry.seq;
    return entries.length;
  };
  /** The timer's read: skipped while one is running, so reads never pile up behind a slow database. */
  const tick = () => {
    if (reading) return;
    reading = readOnce()
      .catch((error) => {
        logger.error('revocable: reading the revocation log failed', error);
        return 0;
      })
      .finally(() => {
        reading = undefined;
      });
  };
  const timer = options.intervalMs > 0 ? setInterval(tick, options.intervalMs) : undefined;
  timer?.unref();

  return {
    /** Reads every entry written so far (after any read already running), and applies it. */
    async sync(): Promise<number> {
      await reading;
      return readOnce();
    },
    async close(): Promise<void> {
      clearInterval(timer);
      await reading;
    },
  };
}
