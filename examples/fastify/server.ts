// A resource server on Fastify: verifies the auth server's tokens locally, refuses revoked ones.
import Fastify from 'fastify';
import { createResourceServer } from 'revocable';
import { revocable } from 'revocable/fastify';
import { resourceOptionsFromEnv } from '../resource-options.ts';

const tokens = await createResourceServer(resourceOptionsFromEnv());
const app = Fastify();
await app.register(revocable, { server: tokens });

app.get('/hello', { onRequest: app.requireAuth }, async (request) => ({ hello: request.auth?.user }));

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`fastify example listening on http://127.0.0.1:${(app.server.address() as { port: number }).port}`);
process.once('SIGTERM', () => void app.close().then(() => tokens.close()));
