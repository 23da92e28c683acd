import type { RevocationBus } from '../bus/bus.ts';
import { openBus } from '../bus/open.ts';
import type { Clock } from '../clock.ts';
import type { RevocationCache } from '../revocation/cache.ts';
import { createRevocationSync } from '../revocation/sync.ts';
import type { VerifierSettings } from '../settings/settings.ts';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import { createFeedClient } from './feed-client.ts';

/**
 * Where a resource server learns of revocations:
 * - `{ database, bus }`: the auth servers' own revocation log (read at start, then polled) and their bus
 *   (Redis or PostgreSQL NOTIFY) for millisecond delivery — for servers inside the same network;
 * - `{ feed, clientId, clientSecret }`: the auth server's `GET /api/revocations/stream/` (Server-Sent
 *   Events), for servers that reach only the auth server's HTTP;
 * - `'none'`: no revocation at all — revoked tokens pass until they expire. Only ever on purpose.
 */
export type RevocationSource =
  | { database: string | Store; bus?: string | RevocationBus; busChannel?: string }
  | { feed: string; clientId: string; clientSecret: string; readyTimeoutMs?: number }
  | 'none';

/** A running source: it fills the cache and says when it can no longer vouch for it. */
export interface RevocationFollower {
  isStale(): boolean;
  close(): Promise<void>;
}

export interface FollowOptions {
  cache: RevocationCache;
  settings: VerifierSettings;
  clock: Clock;
  horizonMs: number;
  logger: Pick<Console, 'error' | 'warn'>;
}

/** Starts following a source; resolves once the revocations committed so far are in the cache. */
export async function followRevocations(source: RevocationSource, options: FollowOptions): Promise<RevocationFollower> {
  const { cache, settings, clock, horizonMs, logger } = options;
  if (source === 'none') return { isStale: () => false, close: async () => {} };
  if ('feed' in source) {
    const feed = createFeedClient({
      url: source.feed,
      clientId: source.clientId,
      clientSecret: source.clientSecret,
      onEntries: (entries) => cache.apply(entries),
      maxStalenessMs: settings.maxRevocationStaleness * 1000,
      logger,
    });
    try {
      await feed.ready(source.readyTimeoutMs ?? 10_000);
    } catch (error) {
      feed.close();
      throw error;
    }
    return { isStale: () => feed.isStale(), close: async () => feed.close() };
  }
  const ownsStore = typeof source.database === 'string';
  const store = typeof source.database === 'string' ? await openStore(source.database, { logger }) : source.database;
  let bus: RevocationBus | undefined;
  try {
    bus =
      typeof source.bus === 'string'
        ? await openBus(source.bus, { logger, ...(source.busChannel ? { channel: source.busChannel } : {}) })
        : source.bus;
    const sync = createRevocationSync({
      store,
      cache,
      clock,
      leewayMs: settings.leeway * 1000,
      horizonMs,
      intervalMs: settings.revocationPollInterval * 1000,
      maxStalenessMs: settings.maxRevocationStaleness * 1000,
      bus,
      logger,
    });
    await sync.sync();
    await sync.listen();
    return {
      isStale: () => sync.isStale(),
      async close() {
        await sync.close();
        if (ownsStore) await store.close();
      },
    };
  } catch (error) {
    await bus?.close().catch(() => {});
    if (ownsStore) await store.close().catch(() => {});
    throw error;
  }
}
