// A resource server on Hono: verifies the auth server's tokens locally, refuses revoked ones.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createResourceServer } from 'revocable';
import { requireAuth } from 'revocable/hono';
import { resourceOptionsFromEnv } from '../resource-options.ts';

const tokens = await createResourceServer(resourceOptionsFromEnv());
const app = new Hono();

app.get('/hello', requireAuth(tokens), (c) => c.json({ hello: c.get('auth').user }));

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' }, (info) => {
  console.log(`hono example listening on http://127.0.0.1:${info.port}`);
});
process.once('SIGTERM', () => server.close(() => void tokens.close()));
