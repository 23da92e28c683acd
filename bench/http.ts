import { type ChildProcess, fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { benchAuth, benchDir, sqlStoreOf } from './fixtures.ts';
import { type FromServer, HTTP_BENCH_SETTINGS, SERVER_KINDS, type ServerKind, type ToServer } from './http-protocol.ts';
import { median } from './stats.ts';
import { pairedRatio } from './throughput.ts';
import { type VerifyResult, fillRevocationCache } from './verify.ts';

/** One autocannon run against one server. */
export interface HttpRound {
  round: number;
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Server process CPU time over the run / wall time (1 = one core busy all along). */
  serverCpu: number;
  /** Server process CPU time per answered request (µs): what a request costs the server, whoever is the bottleneck. */
  cpuUsPerRequest: number;
}

export interface HttpServerResult {
  kind: ServerKind;
  name: string;
  rounds: HttpRound[];
  /** Medians over the rounds. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  serverCpu: number;
  cpuUsPerRequest: number;
  /** Response body bytes (what each server answers to the same request). */
  body: string;
}

export interface HttpResult {
  connections: number;
  warmupS: number;
  durationS: number;
  rounds: number;
  autocannon: string;
  /** Live revocation entries in the log the revocable servers follow, by level. */
  cache: VerifyResult['cache'];
  servers: HttpServerResult[];
  /** Each server's rps over Fastify + @fastify/jwt's, the median of the per-round ratios. */
  overFastifyJwt: Partial<Record<ServerKind, number>>;
  /** Where the servers' --cpu-prof profiles went, when REVOCABLE_BENCH_CPU_PROF asked for them. */
  cpuProfileDir: string | undefined;
}

export const HTTP_SERVER_NAMES: Record<ServerKind, string> = {
  fastify: 'Fastify, no authentication (ceiling)',
  'fastify-jwt': 'Fastify + @fastify/jwt',
  'revocable-resource': 'Fastify + revocable (`createResourceServer`, stateless)',
  'revocable-me': 'revocable server, `GET /api/me/` (user lookup)',
  'express-passport': 'Express + passport-jwt',
};

const envNumber = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const CONNECTIONS = envNumber('REVOCABLE_BENCH_HTTP_CONNECTIONS', 50);
const WARMUP_S = envNumber('REVOCABLE_BENCH_HTTP_WARMUP', 2);
const DURATION_S = envNumber('REVOCABLE_BENCH_HTTP_SECONDS', 3);
const ROUNDS = envNumber('REVOCABLE_BENCH_HTTP_ROUNDS', 3);
/** A comma-separated subset of the kinds (profiling one server); all of them by default. */
const KINDS = (process.env.REVOCABLE_BENCH_HTTP_SERVERS?.split(',') ?? SERVER_KINDS) as ServerKind[];
const CPU_PROFILE_DIR = process.env.REVOCABLE_BENCH_CPU_PROF || undefined;

const AUTOCANNON = new URL('../node_modules/autocannon/autocannon.js', import.meta.url).pathname;
const autocannonVersion = () =>
  (JSON.parse(readFileSync(new URL('../node_modules/autocannon/package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface Server {
  kind: ServerKind;
  url: string;
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

/** Forks one server (with this process's flags, so tsx loads the TypeScript) and waits until it listens. */
async function startServer(kind: ServerKind, database: string): Promise<Server> {
  const child: ChildProcess = fork(new URL('./http-server.ts', import.meta.url), [kind, database], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [...process.execArgv, ...(CPU_PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROFILE_DIR] : [])],
  });
  const next = (type: FromServer['type'], timeoutMs: number) =>
    new Promise<FromServer>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`${kind}: no ${type} message within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (message: FromServer) => {
        if (message.type === 'error') finish(new Error(`${kind}: ${message.message}`));
        else if (message.type === type) finish(undefined, message);
      };
      const onExit = (code: number | null) => finish(new Error(`${kind} exited (${code}) before sending ${type}`));
      function finish(error: Error | undefined, message?: FromServer) {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (error) reject(error);
        else resolve(message!);
      }
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ask = (message: ToServer) => child.send(message);
  let listening: FromServer;
  try {
    listening = await next('listening', 30_000);
  } catch (error) {
    child.kill();
    throw error;
  }
  return {
    kind,
    url: `http://127.0.0.1:${(listening as { port: number }).port}/api/me/`,
    async cpu() {
      const answer = next('cpu', 5_000);
      ask({ type: 'cpu' });
      const usage = (await answer) as { userUs: number; systemUs: number };
      return (usage.userUs + usage.systemUs) / 1000;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      ask({ type: 'stop' });
      const timer = setTimeout(() => child.kill(), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface AutocannonJson {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  requests: { total: number };
  latency: { p50: number; p99: number };
}

/** One autocannon CLI run in a process of its own; refuses a run with any error or non-2xx answer. */
function autocannon(url: string, token: string, durationS: number): Promise<AutocannonJson> {
  const args = [AUTOCANNON, '-c', String(CONNECTIONS), '-d', String(durationS), '-j', '-n', '-H', `authorization=Bearer ${token}`, url];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      try {
        const result = JSON.parse(line) as AutocannonJson;
        if (code !== 0) throw new Error(`exit code ${code}`);
        if (result.errors || result.timeouts || result.non2xx) {
          throw new Error(`${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers`);
        }
        resolve(result);
      } catch (error) {
        reject(new Error(`autocannon against ${url}: ${error instanceof Error ? error.message : error}; ${stderr.trim()}`));
      }
    });
  });
}

/** Before any timing: every server accepts the token; the authenticating ones refuse no token, the revocable ones revoked tokens. */
async function checkServer(server: Server, access: string, userId: number, revoked: string[]): Promise<string> {
  const get = (token?: string) => fetch(server.url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const ok = await get(access);
  const body = await ok.text();
  if (ok.status !== 200) throw new Error(`${server.kind} answered ${ok.status} to a valid token: ${body}`);
  if (server.kind !== 'fastify' && (JSON.parse(body) as { id?: unknown }).id !== userId) {
    throw new Error(`${server.kind} answered ${body} for user ${userId}`);
  }
  if (server.kind !== 'fastify' && (await get()).status !== 401) throw new Error(`${server.kind} accepted a request without a token`);
  if (server.kind.startsWith('revocable')) {
    for (const token of revoked) {
      const refused = await get(token);
      if (refused.status !== 401) throw new Error(`${server.kind} answered ${refused.status} to a revoked token`);
    }
  }
  return body;
}

/**
 * The HTTP comparison: each server in a child process of its own, the load generator (autocannon's CLI)
 * in another, on the loopback. Every server gets the same token, the same connections and duration: a
 * warm-up each, then rounds, the order rotating each round.
 */
export async function benchHttp(log: (line: string) => void): Promise<HttpResult> {
  const dir = benchDir();
  const database = join(dir.path, 'http.db');
  const servers: Server[] = [];
  try {
    const auth = await benchAuth(database, HTTP_BENCH_SETTINGS);
    let access: string;
    let userId: number;
    let filled: Awaited<ReturnType<typeof fillRevocationCache>>;
    try {
      // Set-up only: thousands of revocations need not each wait for an fsync (the servers open their own connections).
      await sql`pragma synchronous = off`.execute(sqlStoreOf(auth).db);
      filled = await fillRevocationCache(auth);
      const user = await auth.users.create({ username: 'http-user', password: 'bench-password' });
      // A past revoke-all of the user: every level of the revocation predicate is looked up.
      await auth.revokeAllForUser(user.id);
      await auth.settled();
      access = (await auth.issueTokens(user)).access;
      userId = user.id;
    } finally {
      await auth.close();
    }

    // Started together (each compiles its TypeScript on start-up); all wait, idle, while one is measured.
    const started = await Promise.allSettled(KINDS.map((kind) => startServer(kind, database)));
    for (const outcome of started) if (outcome.status === 'fulfilled') servers.push(outcome.value);
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    const bodies = new Map<ServerKind, string>();
    for (const server of servers) bodies.set(server.kind, await checkServer(server, access, userId, filled.revoked));

    const t0 = performance.now();
    for (const server of servers) await autocannon(server.url, access, WARMUP_S);
    const perServer = servers.map(() => [] as HttpRound[]);
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < servers.length; k++) {
        const index = (round + k) % servers.length;
        const server = servers[index]!;
        const cpuBefore = await server.cpu();
        const wallBefore = performance.now();
        const run = await autocannon(server.url, access, DURATION_S);
        const cpuMs = (await server.cpu()) - cpuBefore;
        const serverCpu = cpuMs / (performance.now() - wallBefore);
        perServer[index]!.push({
          round,
          requests: run.requests.total,
          durationS: run.duration,
          rps: run.requests.total / run.duration,
          p50Ms: run.latency.p50,
          p99Ms: run.latency.p99,
          serverCpu,
          cpuUsPerRequest: (cpuMs * 1000) / run.requests.total,
        });
      }
    }
    const results: HttpServerResult[] = servers.map((server, index) => {
      const rounds = perServer[index]!;
      return {
        kind: server.kind,
        name: HTTP_SERVER_NAMES[server.kind],
        rounds,
        rps: median(rounds.map((r) => r.rps)),
        p50Ms: median(rounds.map((r) => r.p50Ms)),
        p99Ms: median(rounds.map((r) => r.p99Ms)),
        serverCpu: median(rounds.map((r) => r.serverCpu)),
        cpuUsPerRequest: median(rounds.map((r) => r.cpuUsPerRequest)),
        body: bodies.get(server.kind)!,
      };
    });
    const asThroughput = (r: HttpServerResult) => ({ name: r.name, rounds: r.rounds.map((x) => x.rps), median: r.rps });
    const reference = results.find((r) => r.kind === 'fastify-jwt');
    const overFastifyJwt: HttpResult['overFastifyJwt'] = {};
    if (reference) for (const r of results) overFastifyJwt[r.kind] = pairedRatio(asThroughput(r), asThroughput(reference));
    for (const r of results) {
      log(
        `  ${r.name}: ${Math.round(r.rps)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, server CPU ${(r.serverCpu * 100).toFixed(0)} %, ${r.cpuUsPerRequest.toFixed(0)} µs/request` +
          (overFastifyJwt[r.kind] !== undefined ? `; ${overFastifyJwt[r.kind]!.toFixed(2)}× Fastify + @fastify/jwt` : ''),
      );
    }
    log(`  (measured in ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    return {
      connections: CONNECTIONS,
      warmupS: WARMUP_S,
      durationS: DURATION_S,
      rounds: ROUNDS,
      autocannon: autocannonVersion(),
      cache: filled.cache,
      servers: results,
      overFastifyJwt,
      cpuProfileDir: CPU_PROFILE_DIR,
    };
  } finally {
    for (const server of servers) await server.stop().catch(() => {});
    dir.remove();
  }
}
