import { loadDriver } from '../store/driver.ts';
import { type RevocationBus, decodeEntries, encodeEntries } from './bus.ts';


/**
 * Redis pub/sub (`ioredis`). Two connections: a subscriber, and a publisher that fails fast while Redis
 * is down (no offline queue) so revocations are never held up by the bus.
 */
export async function redisBus(
  url: string,
  options: { logger?: Pick<Console, 'error' | 'warn'>; channel?: string } = {},
): Promise<RevocationBus> {
  const CHANNEL = `${options.channel ?? 'revocable'}:revocations`;
  const module = await loadDriver<typeof import('ioredis') & { default: typeof import('ioredis').default }>('ioredis', 'The Redis bus', 'bus');
  const Redis = module.default ?? (module as unknown as typeof import('ioredis').default);
  const logger = options.logger ?? console;
  const connection = { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000) };
  const publisher = new Redis(url, { ...connection, enableOfflineQueue: false });
  const subscriber = new Redis(url, { ...connection, enableOfflineQueue: true });
  let warned = false;
  const warnOnce = (what: string, error: Error) => {
    if (warned) return;
    warned = true;
    logger.warn(`revocable: Redis bus ${what} (${error.message}); the revocation log poll carries propagation`);
  };
  publisher.on('error', (error) => warnOnce('unreachable', error));
  subscriber.on('error', (error) => warnOnce('unreachable', error));
  publisher.on('ready', () => {
    warned = false;
  });

  return {
    async publish(entries) {
      if (!entries.length) return;
      try {
        for (const message of encodeEntries(entries, 64 * 1024)) await publisher.publish(CHANNEL, message);
      } catch (error) {
        warnOnce('publish failed', error as Error);
      }
    },
    async start(onEntries, onReconnect) {
      subscriber.on('message', (channel, message) => {
        if (channel === CHANNEL) onEntries(decodeEntries(message));
      });
      // Subscribing on every 'ready' covers a Redis that was down at start as well as a reconnect; each
      // time, messages may have been missed, so the log is read again.
      subscriber.on('ready', () => {
        subscriber
          .subscribe(CHANNEL)
          .then(() => onReconnect())
          .catch((error) => warnOnce('subscribe failed', error));
      });
      await subscriber.connect().catch((error) => warnOnce('unreachable at start', error));
      await publisher.connect().catch((error) => warnOnce('unreachable at start', error));
    },
    async close() {
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}
