import { pino } from 'pino';
import { buildServer } from '../../http/fastify.ts';
import { CliError, openAuth } from '../context.ts';

/** `revocable serve`: migrations, then the HTTP server until SIGINT / SIGTERM. */
export async function serve(options: { host?: string; port?: string }): Promise<void> {
  const logger = pino({ name: 'revocable' });
  const { auth, config } = await openAuth({
    createKey: true,
    throttle: true,
    log: (line) => logger.warn(line),
    auditLog: (record) => logger.info({ audit: record }, `audit: ${record.action}`),
  });
  const app = await buildServer(auth, {
    logger,
    metrics: config.metrics.enabled && { token: config.metrics.token },
    trustProxy: config.trustProxy,
  });
  const host = options.host ?? config.host;
  const port = options.port !== undefined ? Number(options.port) : config.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be a port number, got "${options.port}"`);
  await app.listen({ host, port });
  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await app.close();
    await auth.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
