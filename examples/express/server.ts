// A resource server on Express: verifies the auth server's tokens locally, refuses revoked ones.
import express from 'express';
import { createResourceServer } from 'revocable';
import { requireAuth } from 'revocable/express';
import { resourceOptionsFromEnv } from '../resource-options.ts';

const tokens = await createResourceServer(resourceOptionsFromEnv());
const app = express();

app.get('/hello', requireAuth(tokens), (request, response) => {
  response.json({ hello: request.auth?.user });
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`express example listening on http://127.0.0.1:${(server.address() as { port: number }).port}`);
});
process.once('SIGTERM', () => server.close(() => void tokens.close()));
