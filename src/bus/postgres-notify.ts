import type { Client } from 'pg';
import { loadDriver } from '../store/driver.ts';
import { type RevocationBus, decodeEntries, encodeEntries } from './bus.ts';


/**
 * PostgreSQL LISTEN/NOTIFY: propagation with no Redis. One dedicated connection listens and reconnects
 * by itself; notifications are sent on the pool of a short-lived client.
 */
export async function postgresNotifyBus(
  connectionString: string,
  options: { logger?: Pick<Console, 'error' | 'warn'>; channel?: string } = {},
): Promise<RevocationBus> {
  const CHANNEL = `${options.channel ?? 'revocable'}_revocations`;
  const pg = await loadDriver<typeof import('pg') & { default?: typeof import('pg') }>('pg', 'The PostgreSQL bus', 'bus');
  const ClientClass = pg.default?.Client ?? pg.Client;
  const PoolClass = pg.default?.Pool ?? pg.Pool;
  const logger = options.logger ?? console;
  const publisher = new PoolClass({ connectionString, max: 2, connectionTimeoutMillis: 2000 });
  publisher.on('error', () => {});
  publisher.on('connect', (client) => client.on('error', () => {}));
  let listener: Client | undefined;
  let connecting: Client | undefined;
  let closed = false;
  let warned = false;
  const warnOnce = (what: string, error: Error) => {
    if (warned) return;
    warned = true;
    logger.warn(`revocable: PostgreSQL bus ${what} (${error.message}); the revocation log poll carries propagation`);
  };

  return {
    async publish(entries) {
      if (!entries.length) return;
      try {
        for (const message of encodeEntries(entries)) await publisher.query('select pg_notify($1, $2)', [CHANNEL, message]);
        warned = false;
      } catch (error) {
        warnOnce('publish failed', error as Error);
      }
    },
    async start(onEntries, onReconnect) {
      let attempt = 0;
      const connect = async (isReconnect: boolean): Promise<void> => {
        if (closed) return;
        const client = new ClientClass({ connectionString, connectionTimeoutMillis: 2000, keepAlive: true });
        connecting = client;
        client.on('notification', (message) => {
          if (message.channel === CHANNEL && message.payload) onEntries(decodeEntries(message.payload));
        });
        let retried = false;
        const retry = (error: Error) => {
          // 'end', 'error' and a failed connect can all report one failure: reconnect once for it.
          if (retried) return;
          retried = true;
          warnOnce('disconnected', error);
          client.removeAllListeners();
          client.on('error', () => {});
          client.end().catch(() => {});
          if (listener === client) listener = undefined;
          if (closed) return;
          const delay = Math.min(200 * 2 ** attempt++, 2000);
          setTimeout(() => void connect(true), delay).unref();
        };
        client.on('error', retry);
        client.on('end', () => retry(new Error('connection ended')));
        try {
          await client.connect();
          await client.query(`listen ${CHANNEL}`);
          listener = client;
          attempt = 0;
          warned = false;
          if (isReconnect) onReconnect();
        } catch (error) {
          retry(error as Error);
        }
      };
      await connect(false);
    },
    async close() {
      closed = true;
      if (connecting && connecting !== listener) {
        connecting.removeAllListeners();
        connecting.on('error', () => {});
        await connecting.end().catch(() => {});
      }
      const client = listener;
      listener = undefined;
      if (client) {
        client.removeAllListeners('end');
        await client.end().catch(() => {});
      }
      await publisher.end().catch(() => {});
    },
  };
}
