/** The HTTP comparison's section of docs/BENCHMARKS.md and its reading (bench/http.ts measures). */
import type { HttpResult, HttpServerResult } from './http.ts';
import { count, max, min, opsPerSecond, ratio, table } from './stats.ts';

export const HTTP_TITLE = '### 2d. Over HTTP: a protected route, side by side';

/** The protected route with revocation on / bare Fastify + @fastify/jwt, requests per second. */
export const HTTP_TARGET = 0.9;

/** File name of the chart, beside docs/BENCHMARKS.md. */
export const HTTP_CHART = 'benchmarks-http.svg';

/** autocannon records latencies in whole milliseconds. */
const latency = (value: number) => `${Number.isInteger(value) ? value : value.toFixed(1)} ms`;

export function httpSection(r: HttpResult): string {
  const rows = r.servers.map((s) => [
    s.name,
    `**${opsPerSecond(s.rps)}**`,
    `${opsPerSecond(min(s.rounds.map((x) => x.rps)))} – ${opsPerSecond(max(s.rounds.map((x) => x.rps)))}`,
    latency(s.p50Ms),
    latency(s.p99Ms),
    `${Math.round(s.serverCpu * 100)} %`,
    `${s.cpuUsPerRequest.toFixed(0)} µs`,
    r.overFastifyJwt[s.kind] !== undefined ? ratio(r.overFastifyJwt[s.kind]!) : 'n/a',
    `\`${s.body.replaceAll('|', '\\|')}\``,
  ]);
  const measuredS = r.servers.length * (r.warmupS + r.rounds * r.durationS);
  return [
    HTTP_TITLE,
    '',
    'The same `GET /api/me/` with the same valid HS256 bearer token (issued by revocable, so the claims are',
    `Simple JWT's) against ${r.servers.length} servers. Each server runs in a child process of its own`,
    '(`bench/http-server.ts`), without a logger; the load generator is autocannon ' +
      `${r.autocannon}'s CLI (\`node node_modules/autocannon/autocannon.js -c ${r.connections} -d ${r.durationS} -j\`), in another process,`,
    `over the loopback. Every server gets a ${r.warmupS} s warm-up, then ${r.rounds} runs of ${r.durationS} s with ${r.connections} connections`,
    `(no pipelining), the order rotating each round (${measuredS} s of load in all). Figures are the medians over`,
    'the rounds; the ratio is the median of the per-round ratios to Fastify + @fastify/jwt. Before any timing every',
    'server answered the token with its JSON, every authenticating one refused a request without a token, and the revocable servers',
    "refused an access token of a blacklisted refresh token and one of a revoked session. Revocation is on: the",
    `revocable servers follow the revocation log of the same SQLite file (${count(r.cache.users)} revoked users,`,
    `${count(r.cache.sessions)} revoked sessions, ${count(r.cache.tokens)} blacklisted tokens), and the token's user has a past revoke-all, so every`,
    'level of the predicate is looked up on every request.',
    '',
    '- **Fastify, no authentication**: the ceiling: what the HTTP stack alone answers on this machine.',
    '- **Fastify + @fastify/jwt**: `request.jwtVerify()` in an `onRequest` hook (fast-jwt underneath, HS256',
    '  pinned, no cache), no revocation: the baseline the target is set against.',
    '- **Fastify + revocable**: the like-for-like contender, "a protected route with revocation on": the',
    '  `revocable/fastify` adapter\'s `requireAuth` hook over `createResourceServer({ settings: { signingKey },',
    "  revocations: { database: 'sqlite:<the file>' } })`, stateless (Simple JWT's",
    '  `JWTStatelessUserAuthentication`): header parsing, signature, claim checks and revocation, all from memory.',
    "- **revocable server, `GET /api/me/`**: the standalone server's own route (`buildServer`): Simple JWT's",
    '  `JWTAuthentication`, which reads the user from the database on every request (a SQLite read here), and',
    "  the server's whole request pipeline (raw body handling, the audit actor in an `AsyncLocalStorage`, the",
    "  contract's error mapping).",
    '- **Express + passport-jwt**: `passport.authenticate(\'jwt\', { session: false })` (jsonwebtoken underneath,',
    "  HS256 pinned), Express's defaults (ETag, `X-Powered-By`).",
    '',
    `![Requests per second of the HTTP comparison](${HTTP_CHART})`,
    '',
    table(
      [
        'server',
        'requests/s (median)',
        'range over rounds',
        'latency p50',
        'latency p99',
        'server CPU',
        'server CPU per request',
        'vs Fastify + @fastify/jwt',
        'answer',
      ],
      rows,
    ),
    '',
    '"Server CPU" is the server process\'s CPU time over the wall time of a run (`process.cpuUsage()`, asked over',
    'IPC before and after each run): near 100 % the server is the bottleneck; well under it, the load generator',
    '(which shares the two cores with it) or other work on the machine is, and requests per second then tell',
    'less than the CPU time each request cost the server, the column after it. autocannon records latencies in',
    'whole milliseconds.',
    ...(r.cpuProfileDir ? ['', `CPU profiles of the servers (\`--cpu-prof\`) were written to \`${r.cpuProfileDir}\`.`] : []),
    '',
  ].join('\n');
}

export function readHttp(r: HttpResult): string[] {
  const byKind = new Map(r.servers.map((s) => [s.kind, s] as const));
  const resource = byKind.get('revocable-resource');
  const reference = byKind.get('fastify-jwt');
  const me = byKind.get('revocable-me');
  const lines: string[] = [];
  if (resource && reference) {
    const value = r.overFastifyJwt['revocable-resource']!;
    lines.push(
      `- **A protected route with revocation on answers ${ratio(value)} the requests of bare Fastify + @fastify/jwt**` +
        ` (${opsPerSecond(resource.rps)} against ${opsPerSecond(reference.rps)} req/s; target ≥ ${HTTP_TARGET}: ${value >= HTTP_TARGET ? 'met' : '**not met**'}).` +
        ` Per request the server spent ${resource.cpuUsPerRequest.toFixed(0)} µs of CPU against ${reference.cpuUsPerRequest.toFixed(0)} µs:` +
        ' both verify the same HS256 token with fast-jwt on the same Fastify; revocable adds Simple JWT\'s header' +
        ' parsing and claim checks and the revocation look-ups, and skips @fastify/jwt\'s own layers.' +
        (byKind.get('fastify') ? ` For scale, Fastify with no authentication at all spent ${byKind.get('fastify')!.cpuUsPerRequest.toFixed(0)} µs.` : '') +
        (Math.max(resource.serverCpu, reference.serverCpu) < 0.8
          ? ` The servers were busy ${Math.round(resource.serverCpu * 100)} % and ${Math.round(reference.serverCpu * 100)} % of the time: the load` +
            ' generator, sharing the two cores, set the pace more than they did, which narrows the differences in requests per second.'
          : ''),
    );
  }
  if (me && reference) {
    lines.push(
      `- **The standalone server's \`GET /api/me/\` answers ${ratio(r.overFastifyJwt['revocable-me']!)} of it** (${opsPerSecond(me.rps)} req/s):` +
        " Simple JWT's `JWTAuthentication` reads the user from the database on every request, and the standalone" +
        ` server runs its whole request pipeline: ${me.cpuUsPerRequest.toFixed(0)} µs of CPU per request. Compare it with a Django view behind` +
        ' Simple JWT, which does the same read.',
    );
  }
  const express = byKind.get('express-passport');
  if (express && reference) {
    lines.push(
      `- **Express + passport-jwt answers ${ratio(r.overFastifyJwt['express-passport']!)} of Fastify + @fastify/jwt** (${opsPerSecond(express.rps)} req/s):` +
        ' the framework, not the token check, sets most of the figure.',
    );
  }
  return lines;
}

/** The bars of the HTTP chart, in the table's order. */
export function httpBars(r: HttpResult): { label: string; value: number; note?: string; color: string }[] {
  const colors: Record<HttpServerResult['kind'], string> = {
    fastify: '#9aa5b1',
    'fastify-jwt': '#52606d',
    'revocable-resource': '#2f6fde',
    'revocable-me': '#7aa7f0',
    'express-passport': '#c0843d',
  };
  return r.servers.map((s) => ({
    label: s.name.replaceAll('`', ''),
    value: s.rps,
    ...(r.overFastifyJwt[s.kind] !== undefined && s.kind !== 'fastify-jwt' ? { note: `(${ratio(r.overFastifyJwt[s.kind]!)})` } : {}),
    color: colors[s.kind],
  }));
}
