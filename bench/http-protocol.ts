/** What bench/http.ts and its server processes (bench/http-server.ts) share. */

export const SERVER_KINDS = ['fastify', 'fastify-jwt', 'revocable-resource', 'revocable-me', 'express-passport'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

/** Settings the benchmark's tokens were issued with (an hour: the section runs for a minute or two). */
export const HTTP_BENCH_SETTINGS = { accessTokenLifetime: '1h' };

export type ToServer = { type: 'cpu' } | { type: 'stop' };
export type FromServer =
  | { type: 'listening'; port: number }
  | { type: 'cpu'; userUs: number; systemUs: number }
  | { type: 'error'; message: string };
