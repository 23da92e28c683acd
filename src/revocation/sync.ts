import { performance } from 'node:perf_hooks';
import type { RevocationBus } from '../bus/bus.ts';
import type { Clock } from '../clock.ts';
import type { RevocationEntry } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import type { RevocationCache } from './cache.ts';
import { LogCursor } from './log-cursor.ts';

export interface RevocationSyncOptions {
  store: Store;
  cache: RevocationCache;
  clock: Clock;
  /** Tokens are accepted for `leeway` past their exp; entries are kept that much longer. */
  leewayMs: number;
  horizonMs: number;
  /** How often to read the log; 0 turns the timer off (explicit `sync()` calls still work). */
  intervalMs: number;
  /** Past this without a successful read, `isStale()` is true. */
  maxStalenessMs: number;
  bus: RevocationBus | undefined;
  logger: Pick<Console, 'error' | 'warn'>;
  /**
   * Hears of entries committed by another process, once each, when they first arrive here: from the bus
   * or from a log read after the start-up one (the metrics' propagation delay). Never this process's own
   * entries (committed through `applyLocal`, and echoed back by the bus and the log), nor the start-up backlog.
   */
  onRemoteEntries?: (entries: RevocationEntry[], source: RemoteSource) => void;
}

/** Where an entry from another process came in: the bus, or a read of the revocation log. */
export type RemoteSource = 'bus' | 'log';

/** How many sequence numbers are remembered to tell a new entry from one seen already. */
const REMEMBERED_SEQS = 10_000;

/**
 * Keeps the cache in step with every instance's revocations: the bus brings them within milliseconds,
 * the ordered log closes any gap (on start, when the bus reconnects, and on a timer).
 *
 * The log cursor is this module's own: entries applied from local writes or from the bus never move it,
 * and it asks again for sequence numbers it has not seen (see log-cursor.ts), so an entry committed
 * elsewhere, even late, cannot be skipped. Reading an entry twice is harmless: applying is idempotent.
 * Staleness is measured on the monotonic clock, from the start of the last successful read; a read
 * that hangs is abandoned after the staleness bound so the next one can start.
 */
export function createRevocationSync(options: RevocationSyncOptions) {
  const { store, cache, clock, leewayMs, horizonMs, bus, logger } = options;
  const cursor = new LogCursor();
  let initialRead = true;
  let reading: Promise<number> | undefined;
  let confirmedAt = Number.NEGATIVE_INFINITY;
  let readStartedAt = Number.NEGATIVE_INFINITY;
  let failing = false;
  const publishing = new Set<Promise<void>>();
  const watchers = new Set<(entries: RevocationEntry[]) => void>();
  /** Sequence numbers applied lately (this process's own and received ones), oldest first. */
  const seen = new Set<number>();
  /** Marks entries seen and answers those that were not (none, remembering nothing, when no one listens). */
  const firstSeen = (entries: RevocationEntry[]): RevocationEntry[] => {
    if (!options.onRemoteEntries) return [];
    const fresh = entries.filter((entry) => !seen.has(entry.seq));
    for (const entry of fresh) seen.add(entry.seq);
    for (const seq of seen) {
      if (seen.size <= REMEMBERED_SEQS) break;
      seen.delete(seq);
    }
    return fresh;
  };
  /** Reports entries from elsewhere seen here for the first time. */
  const received = (entries: RevocationEntry[], source: RemoteSource, report = true) => {
    const fresh = firstSeen(entries);
    if (!report || fresh.length === 0) return;
    try {
      options.onRemoteEntries?.(fresh, source);
    } catch (error) {
      logger.error('revocable: onRemoteEntries failed', error);
    }
  };
  /** Applies entries from any source and hands them to the watchers (the revocation feed). */
  const apply = (entries: RevocationEntry[]) => {
    cache.apply(entries);
    if (entries.length === 0) return;
    for (const watcher of watchers) {
      try {
        watcher(entries);
      } catch (error) {
        logger.error('revocable: a revocation watcher failed', error);
      }
    }
  };

  const readOnce = async () => {
    const startedAt = performance.now();
    readStartedAt = startedAt;
    const { afterSeq, missing } = cursor.request();
    const entries = await withTimeout(
      store.loadRevocations(clock() - leewayMs, afterSeq, horizonMs, missing),
      options.maxStalenessMs,
    );
    apply(entries);
    received(entries, 'log', !initialRead);
    cursor.advance(
      entries.map((entry) => entry.seq),
      performance.now(),
      initialRead,
    );
    initialRead = false;
    confirmedAt = startedAt;
    if (failing) logger.warn('revocable: the revocation log is readable again');
    failing = false;
    return entries.length;
  };
  /** A background read: skipped while one runs, so reads never pile up behind a slow database. */
  const tick = () => {
    if (reading) return;
    reading = readOnce()
      .catch((error) => {
        if (!failing) logger.error('revocable: reading the revocation log failed', error);
        failing = true;
        return 0;
      })
      .finally(() => {
        reading = undefined;
      });
  };
  let timer: NodeJS.Timeout | undefined;

  return {
    /** Reads every entry written so far (after any read already running), and applies it. */
    async sync(): Promise<number> {
      await reading;
      return readOnce();
    },
    /**
     * Starts the bus and the poll, after the start-up read; one more read then covers what was
     * published between that read and the subscription.
     */
    async listen(): Promise<void> {
      await bus?.start(
        (entries) => {
          apply(entries);
          received(entries, 'bus');
        },
        () => tick(),
      );
      if (options.intervalMs > 0) {
        timer = setInterval(tick, options.intervalMs);
        timer.unref();
      }
      tick();
    },
    /** Applies entries this process committed, and tells the other instances. */
    applyLocal(entries: RevocationEntry[]): void {
      if (!entries.length) return;
      firstSeen(entries);
      apply(entries);
      if (!bus) return;
      const sending = bus
        .publish(entries)
        .catch((error) => logger.error('revocable: publishing revocations failed', error))
        .finally(() => publishing.delete(sending));
      publishing.add(sending);
    },
    /** Calls `watcher` with every entry applied from now on, whatever its source; returns the unsubscribe. */
    watch(watcher: (entries: RevocationEntry[]) => void): () => void {
      watchers.add(watcher);
      return () => watchers.delete(watcher);
    },
    /**
     * True when no log read has succeeded within the staleness bound while reads are failing or hanging
     * (only while the timer runs). A busy event loop that simply has not run the timer is not stale:
     * it serves no request meanwhile either.
     */
    isStale(): boolean {
      if (timer === undefined) return false;
      const now = performance.now();
      if (now - confirmedAt <= options.maxStalenessMs) return false;
      return failing || (reading !== undefined && now - readStartedAt > options.maxStalenessMs);
    },
    async close(): Promise<void> {
      clearInterval(timer);
      await reading;
      // A short-lived process (the CLI) must not exit before its revocations are on the bus.
      await Promise.allSettled([...publishing]);
      await bus?.close();
    },
  };
}

/** Rejects when `promise` has not settled within `ms`: a read on a connection that went silent must end. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the revocation log read took longer than ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
