import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { describeMachine } from './machine.ts';
import { type SoakOp, type SoakResult, type SoakSample, SOAK_OPS, soakSection, theilSen, trend } from './report-soak.ts';
import { resultFile, spliceSection } from './report-splice.ts';
import { BIN, SIGNING_KEY, seedUsers, startServe } from './serve-process.ts';
import { median, percentile } from './stats.ts';

/**
 * Soak: mixed load against a real `revocable serve` process on a SQLite file, for `--minutes`
 * (default 1) or `--max-requests`, whichever comes first; the server's memory sampled throughout.
 *
 *   npm run soak -- --minutes 10 --rate 1500
 *
 * autocannon (programmatic, this process) keeps `--connections` requests in flight. Before each
 * request, `setupRequest` picks what to send from a pool of seeded users and their live sessions:
 * logins, refreshes (rotation on), `GET /api/me/`, verify, logout and logout-all (the user-level
 * revocation) over HTTP, and, every `--cli-every` seconds, an operator's `revocable revoke-user` in a
 * process of its own on the same file (which the server learns through its revocation-log poll).
 * A user is leased to one request at a time, so no two requests race on one user's tokens and every
 * answer but the expected one is an error. After every revocation, one of the revoked access tokens
 * is presented again (`GET /api/me/`): 401 `Token is blacklisted` is the expected refusal, a 200 is an
 * error. Writes bench/results/soak.json and the Soak section of docs/BENCHMARKS.md.
 */

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    'max-requests': { type: 'string', default: '20000000' },
    connections: { type: 'string', default: '16' },
    users: { type: 'string', default: '64' },
    'cli-every': { type: 'string', default: '60' },
    'sample-every': { type: 'string', default: '5' },
    /** Requests per second over all connections; unset, each connection sends its next request as soon as it has an answer. */
    rate: { type: 'string' },
  },
});
const MINUTES = Number(args.minutes);
const MAX_REQUESTS = Number(args['max-requests']);
const CONNECTIONS = Number(args.connections);
const USERS = Number(args.users);
const CLI_EVERY_S = Number(args['cli-every']);
const SAMPLE_EVERY_S = Number(args['sample-every']);
const RATE = args.rate === undefined ? undefined : Number(args.rate);
if (RATE !== undefined && !(RATE > 0)) throw new Error('--rate must be a positive number of requests per second');
for (const [name, value] of Object.entries({ MINUTES, MAX_REQUESTS, CONNECTIONS, USERS, CLI_EVERY_S, SAMPLE_EVERY_S })) {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name.toLowerCase().replace('_', '-')} must be a positive number`);
}
if (USERS < 2 * CONNECTIONS) throw new Error('--users must be at least twice --connections (a user is leased to one request at a time)');

/**
 * Short lifetimes on purpose: the revocation cache keeps an entry until the tokens it can match have
 * expired (the horizon, here 60 s), so within the first two minutes it reaches the size it keeps for
 * the rest of the run. With the default one-day refresh lifetime a 10-minute run would only watch the
 * cache fill, as designed, and could not tell that from a leak.
 */
const SERVER_ENV = {
  REVOCABLE_ACCESS_TOKEN_LIFETIME: '30s',
  REVOCABLE_REFRESH_TOKEN_LIFETIME: '60s',
  REVOCABLE_FLUSH_EXPIRED_INTERVAL: '1m',
};
const PASSWORD = 'soak-password-of-a-user';
/** Rates of the costly or destructive operations (per second, over all connections). */
const RATES = { login: 5, logout: 2, logoutAll: 0.3 };
/** How the other requests are shared out. */
const WEIGHTS = { me: 70, verify: 20, refresh: 10 };
const MAX_SESSIONS_PER_USER = 8;
/** A token this close to its expiry is refreshed (access) or given up (refresh) rather than used. */
const EXPIRY_MARGIN_MS = 5000;
/** A revoke-user from another process reaches the server through its log poll (250 ms): check after this. */
const CLI_PROPAGATION_MARGIN_MS = 1000;
/** A lease older than this lost its request (autocannon's timeout is 10 s). */
const LEASE_LIMIT_MS = 20_000;

interface Session {
  access: string;
  refresh: string;
  accessExpMs: number;
  refreshExpMs: number;
}
interface SoakUser {
  username: string;
  sessions: Session[];
  lease: number;
  leasedAtMs: number;
}
interface Revoked {
  access: string;
  expMs: number;
  notBeforeMs: number;
}
interface Plan {
  op: SoakOp;
  user?: SoakUser;
  lease?: number;
  session?: Session;
  revoked?: Revoked;
  status?: number;
}

class Bucket {
  private tokens = 1;
  private last = performance.now();
  constructor(private readonly perSecond: number) {}
  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(Math.max(1, this.perSecond), this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

const expOf = (token: string) =>
  1000 * (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp: number }).exp;
const sessionOf = (pair: { access: string; refresh: string }): Session => ({
  ...pair,
  accessExpMs: expOf(pair.access),
  refreshExpMs: expOf(pair.refresh),
});

// ---- the server --------------------------------------------------------------------------------

const machine = describeMachine();
const loadAtStart = loadavg().map((l) => Math.round(l * 100) / 100);
console.log(`soak: ${MINUTES} min, ${CONNECTIONS} connections, ${USERS} users; load average ${loadAtStart.join(' ')}`);
const dir = mkdtempSync(join(tmpdir(), 'revocable-soak-'));
const database = `sqlite:${join(dir, 'soak.db')}`;
const users: SoakUser[] = Array.from({ length: USERS }, (_, i) => ({
  username: `soak-${i}`,
  sessions: [],
  lease: 0,
  leasedAtMs: 0,
}));
await seedUsers(
  database,
  users.map((u) => ({ username: u.username, password: PASSWORD })),
);
const server = await startServe({ database, dir, env: SERVER_ENV });
console.log(`revocable serve pid ${server.pid} at ${server.url}`);

// ---- choosing requests -------------------------------------------------------------------------

const buckets = { login: new Bucket(RATES.login), logout: new Bucket(RATES.logout), logoutAll: new Bucket(RATES.logoutAll) };
const revoked: Revoked[] = [];
let leases = 0;
const counts = {
  responses: 0,
  unexpected: 0,
  expectedRefusals: 0,
  revokedAccepted: 0,
  revokedExpiredUnchecked: 0,
  sessionsExpiredUnused: 0,
  abandonedLeases: 0,
  socketErrors: 0,
  timeouts: 0,
};
const unexpectedByOp: Partial<Record<SoakOp, number>> = {};
const examples: string[] = [];
const latencies: Record<SoakOp, number[]> = Object.fromEntries(SOAK_OPS.map((op) => [op, []])) as unknown as Record<SoakOp, number[]>;

function freeUser(accept: (user: SoakUser) => boolean): SoakUser | undefined {
  const start = Math.floor(Math.random() * users.length);
  for (let k = 0; k < users.length; k++) {
    const user = users[(start + k) % users.length]!;
    if (user.lease === 0 && accept(user)) return user;
  }
  return undefined;
}

function leaseUser(user: SoakUser): number {
  user.lease = ++leases;
  user.leasedAtMs = Date.now();
  return user.lease;
}

function release(plan: Plan): void {
  if (plan.user && plan.user.lease === plan.lease) plan.user.lease = 0;
}

function nextRevokedToCheck(now: number): Revoked | undefined {
  for (let i = 0; i < revoked.length; i++) {
    const entry = revoked[i]!;
    if (entry.expMs < now + EXPIRY_MARGIN_MS) {
      revoked.splice(i--, 1);
      counts.revokedExpiredUnchecked++;
    } else if (entry.notBeforeMs <= now) {
      revoked.splice(i, 1);
      return entry;
    }
  }
  return undefined;
}

function remember(access: string, notBeforeMs: number): void {
  if (revoked.length < 10_000) revoked.push({ access, expMs: expOf(access), notBeforeMs });
}

function choose(): Plan {
  const now = Date.now();
  const due = nextRevokedToCheck(now);
  if (due) return { op: 'check-revoked', revoked: due };

  const user = freeUser(() => true);
  if (!user) return { op: 'idle' };
  const before = user.sessions.length;
  user.sessions = user.sessions.filter((s) => s.refreshExpMs > now + EXPIRY_MARGIN_MS);
  counts.sessionsExpiredUnused += before - user.sessions.length;

  const plan = (op: SoakOp, session?: Session): Plan => ({ op, user, lease: leaseUser(user), ...(session ? { session } : {}) });
  const stale = user.sessions.find((s) => s.accessExpMs < now + EXPIRY_MARGIN_MS);
  if (stale) return plan('refresh', stale);
  if (user.sessions.length < MAX_SESSIONS_PER_USER && buckets.login.take()) return plan('login');
  if (user.sessions.length === 0) {
    // This user cannot do anything until the next login: pick one who can.
    const other = freeUser((u) => u.sessions.some((s) => s.accessExpMs >= now + EXPIRY_MARGIN_MS));
    if (!other) return { op: 'idle' };
    return choiceFor(other, now);
  }
  return choiceFor(user, now);
}

function choiceFor(user: SoakUser, now: number): Plan {
  const usable = user.sessions.filter((s) => s.accessExpMs >= now + EXPIRY_MARGIN_MS);
  const session = usable[Math.floor(Math.random() * usable.length)];
  if (!session) return { op: 'idle' };
  const plan = (op: SoakOp): Plan => ({ op, user, lease: leaseUser(user), session });
  if (buckets.logoutAll.take()) return plan('logout-all');
  if (buckets.logout.take()) return plan('logout');
  const total = WEIGHTS.me + WEIGHTS.verify + WEIGHTS.refresh;
  const draw = Math.random() * total;
  if (draw < WEIGHTS.me) return plan('me');
  if (draw < WEIGHTS.me + WEIGHTS.verify) return plan('verify');
  return plan('refresh');
}

type Request = { method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: string };

function requestFor(plan: Plan): Request {
  const json = (path: string, body: unknown): Request => ({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const bearer = (method: 'GET' | 'POST', path: string, access: string): Request => ({
    method,
    path,
    headers: { authorization: `Bearer ${access}` },
  });
  switch (plan.op) {
    case 'login':
      return json('/api/token/', { username: plan.user!.username, password: PASSWORD });
    case 'refresh':
      return json('/api/token/refresh/', { refresh: plan.session!.refresh });
    case 'verify':
      return json('/api/token/verify/', { token: plan.session!.access });
    case 'me':
      return bearer('GET', '/api/me/', plan.session!.access);
    case 'logout':
      return bearer('POST', '/api/logout/', plan.session!.access);
    case 'logout-all':
      return bearer('POST', '/api/logout-all/', plan.session!.access);
    case 'check-revoked':
      return bearer('GET', '/api/me/', plan.revoked!.access);
    case 'idle':
      return { method: 'GET', path: '/healthz', headers: {} };
  }
}

const EXPECTED_STATUS: Record<SoakOp, number> = {
  login: 200,
  refresh: 200,
  verify: 200,
  me: 200,
  logout: 205,
  'logout-all': 205,
  'check-revoked': 401,
  idle: 200,
};

function unexpected(plan: Plan, status: number, body: string): void {
  counts.unexpected++;
  unexpectedByOp[plan.op] = (unexpectedByOp[plan.op] ?? 0) + 1;
  if (examples.length < 20) examples.push(`${plan.op}: ${status} ${body.slice(0, 200)}`);
}

/** Applies an answer to the pool: new tokens in, revoked ones out (and queued to be checked). */
function onAnswer(plan: Plan, status: number, body: string): void {
  plan.status = status;
  counts.responses++;
  const owned = plan.user !== undefined && plan.user.lease === plan.lease;
  try {
    if (plan.op === 'check-revoked') {
      if (status === 401 && body.includes('Token is blacklisted')) counts.expectedRefusals++;
      else if (status === 200) {
        counts.revokedAccepted++;
        unexpected(plan, status, body);
      } else unexpected(plan, status, body);
      return;
    }
    if (status !== EXPECTED_STATUS[plan.op]) {
      unexpected(plan, status, body);
      // Whatever happened to this session is unknown now: forget it.
      if (owned && plan.session) plan.user!.sessions = plan.user!.sessions.filter((s) => s !== plan.session);
      return;
    }
    if (!owned) return;
    const user = plan.user!;
    switch (plan.op) {
      case 'login':
        user.sessions.push(sessionOf(JSON.parse(body) as { access: string; refresh: string }));
        break;
      case 'refresh': {
        const next = sessionOf(JSON.parse(body) as { access: string; refresh: string });
        user.sessions = user.sessions.map((s) => (s === plan.session ? next : s));
        break;
      }
      case 'logout':
        user.sessions = user.sessions.filter((s) => s !== plan.session);
        remember(plan.session!.access, Date.now());
        break;
      case 'logout-all': {
        const gone = user.sessions;
        user.sessions = [];
        const other = gone.find((s) => s !== plan.session);
        remember((other ?? plan.session!).access, Date.now());
        break;
      }
    }
  } finally {
    release(plan);
  }
}

// ---- the operator: revocable revoke-user from another process ----------------------------------

const cli = { runs: 0, failed: 0, durationsMs: [] as number[], failures: [] as string[] };
let stopping = false;

async function operatorRevokes(): Promise<void> {
  while (!stopping) {
    await new Promise((resolve) => setTimeout(resolve, CLI_EVERY_S * 1000));
    if (stopping) return;
    const user = freeUser((u) => u.sessions.length > 0);
    if (!user) continue;
    const lease = leaseUser(user);
    user.leasedAtMs = Number.POSITIVE_INFINITY; // held by the operator, however long the command takes
    const started = performance.now();
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      let output = '';
      const child = spawn(process.execPath, [BIN, 'revoke-user', user.username, '--reason', 'soak'], {
        env: { ...process.env, DATABASE_URL: database, REVOCABLE_SIGNING_KEY: SIGNING_KEY },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (chunk) => {
        output += chunk;
      });
      child.stderr.on('data', (chunk) => {
        output += chunk;
      });
      child.on('exit', (code) => resolve({ code, output }));
    });
    cli.runs++;
    cli.durationsMs.push(performance.now() - started);
    if (code === 0) {
      const gone = user.sessions;
      user.sessions = [];
      if (gone[0]) remember(gone[0].access, Date.now() + CLI_PROPAGATION_MARGIN_MS);
    } else {
      cli.failed++;
      if (cli.failures.length < 5) cli.failures.push(`exit ${code}: ${output.slice(0, 300)}`);
    }
    if (user.lease === lease) user.lease = 0;
  }
}

// ---- sampling ----------------------------------------------------------------------------------

const samples: SoakSample[] = [];
let runStart = performance.now();
let responsesAtLastSample = 0;
let lastSampleAt = runStart;

async function scrape(): Promise<Pick<SoakSample, 'heapUsedMiB' | 'heapTotalMiB' | 'externalMiB' | 'cache'>> {
  try {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const value = (pattern: RegExp) => {
      const match = pattern.exec(text);
      return match ? Number(match[1]) : undefined;
    };
    const heap = value(/^nodejs_heap_size_used_bytes (\S+)$/m);
    const heapTotal = value(/^nodejs_heap_size_total_bytes (\S+)$/m);
    const external = value(/^nodejs_external_memory_bytes (\S+)$/m);
    const tokens = value(/^revocable_revocation_cache_entries\{level="token"\} (\S+)$/m);
    const sessions = value(/^revocable_revocation_cache_entries\{level="session"\} (\S+)$/m);
    const usersInCache = value(/^revocable_revocation_cache_entries\{level="user"\} (\S+)$/m);
    return {
      ...(heap !== undefined ? { heapUsedMiB: heap / 2 ** 20 } : {}),
      ...(heapTotal !== undefined ? { heapTotalMiB: heapTotal / 2 ** 20 } : {}),
      ...(external !== undefined ? { externalMiB: external / 2 ** 20 } : {}),
      ...(tokens !== undefined ? { cache: { tokens, sessions: sessions ?? 0, users: usersInCache ?? 0 } } : {}),
    };
  } catch {
    return {};
  }
}

async function sample(): Promise<void> {
  const now = performance.now();
  const rss = server.rssMiB();
  if (rss === undefined) return;
  const scraped = await scrape();
  samples.push({
    tS: (now - runStart) / 1000,
    rssMiB: rss,
    ...scraped,
    requestsPerS: ((counts.responses - responsesAtLastSample) * 1000) / (now - lastSampleAt),
    load1: Math.round(loadavg()[0]! * 100) / 100,
  });
  responsesAtLastSample = counts.responses;
  lastSampleAt = now;
  // Leases whose request was lost (a timeout or a socket error): their sessions' state is unknown.
  const limit = Date.now() - LEASE_LIMIT_MS;
  for (const user of users) {
    if (user.lease !== 0 && user.leasedAtMs < limit) {
      user.lease = 0;
      user.sessions = [];
      counts.abandonedLeases++;
    }
  }
}

// ---- the run -----------------------------------------------------------------------------------

// One session per user to start from (not measured), so the load does not begin by waiting for logins.
for (const user of users) {
  const res = await fetch(`${server.url}/api/token/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user.username, password: PASSWORD }),
  });
  if (res.status !== 200) throw new Error(`the first login of ${user.username} failed: ${res.status} ${await res.text()}`);
  user.sessions.push(sessionOf((await res.json()) as { access: string; refresh: string }));
}

runStart = performance.now();
lastSampleAt = runStart;
const sampler = setInterval(() => void sample(), SAMPLE_EVERY_S * 1000);
await sample();
const operator = operatorRevokes();

let finished: (result: autocannon.Result) => void = () => {};
let failed: (error: unknown) => void = () => {};
const done = new Promise<autocannon.Result>((resolve, reject) => {
  finished = resolve;
  failed = reject;
});
const instance = autocannon(
  {
  url: server.url,
  connections: CONNECTIONS,
  pipelining: 1,
  duration: MINUTES * 60,
  timeout: 10,
  ...(RATE !== undefined ? { overallRate: RATE } : {}),
  requests: [
    {
      setupRequest(request, context) {
        const plan = choose();
        (context as { plan?: Plan }).plan = plan;
        const built = requestFor(plan);
        return { ...request, ...built, headers: built.headers } as typeof request;
      },
      onResponse(status, body, context) {
        const plan = (context as { plan?: Plan }).plan;
        if (plan) onAnswer(plan, status, body);
      },
    },
  ],
  },
  (error, result) => (error ? failed(error) : finished(result)),
);
instance.on('response', (client, _status, _bytes, responseTime) => {
  const plan = (client as unknown as { requestIterator: { context: { plan?: Plan } } }).requestIterator.context.plan;
  if (plan) latencies[plan.op].push(responseTime);
  if (counts.responses >= MAX_REQUESTS) instance.stop();
});
instance.on('reqError', (error: { code?: string; message?: string }) => {
  if (error?.code === 'ETIMEDOUT' || /timeout/i.test(error?.message ?? '')) counts.timeouts++;
  else counts.socketErrors++;
  if (examples.length < 20) examples.push(`request error: ${error?.code ?? ''} ${error?.message ?? String(error)}`);
});
server.child.once('exit', (code, signal) => {
  if (!stopping) {
    examples.push(`the server exited during the run: ${signal ?? `exit code ${code}`}`);
    instance.stop();
  }
});
let lastReport = performance.now();
instance.on('tick', () => {
  if (performance.now() - lastReport < 60_000) return;
  lastReport = performance.now();
  const last = samples.at(-1);
  console.log(
    `  ${((lastReport - runStart) / 60_000).toFixed(1)} min: ${counts.responses.toLocaleString('en-US')} responses, ` +
      `RSS ${last?.rssMiB.toFixed(1)} MiB, unexpected ${counts.unexpected}, load ${loadavg()[0]!.toFixed(2)}`,
  );
});
const result = await done;
clearInterval(sampler);
await sample();
stopping = true;
const readyAtEnd = await fetch(`${server.url}/readyz`).then(
  (res) => res.status === 200,
  () => false,
);
const exit = await server.stop();
await operator.catch(() => {});
const problems = server.problems();
rmSync(dir, { recursive: true, force: true });

// ---- the figures -------------------------------------------------------------------------------

const durationS = result.duration;
const warmupS = 0.2 * durationS;
const window = samples.filter((s) => s.tS >= warmupS);
const rssTrend = trend(window.map((s) => [s.tS / 60, s.rssMiB]));
const rssRobust = theilSen(window.map((s) => [s.tS / 60, s.rssMiB]));
const heapWindow = window.filter((s) => s.heapUsedMiB !== undefined);
const heapTrend = heapWindow.length >= 3 ? trend(heapWindow.map((s) => [s.tS / 60, s.heapUsedMiB!])) : undefined;
const heapTotalWindow = window.filter((s) => s.heapTotalMiB !== undefined);
// Whole windows only: the first sample opens the run, the last closes it after the load stopped.
const rates = samples.slice(1, -1).map((s) => s.requestsPerS);
const soak: SoakResult = {
  date: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  machine,
  config: {
    minutes: MINUTES,
    maxRequests: MAX_REQUESTS,
    ...(RATE !== undefined ? { rate: RATE } : {}),
    connections: CONNECTIONS,
    users: USERS,
    maxSessionsPerUser: MAX_SESSIONS_PER_USER,
    rates: RATES,
    weights: WEIGHTS,
    cliEveryS: CLI_EVERY_S,
    sampleEveryS: SAMPLE_EVERY_S,
    serverEnv: SERVER_ENV,
  },
  durationS,
  loadAverage: { start: loadAtStart, end: loadavg().map((l) => Math.round(l * 100) / 100) },
  requests: {
    total: counts.responses,
    perSecond: counts.responses / durationS,
    windowMin: Math.min(...rates),
    windowMedian: median(rates),
    windowMax: Math.max(...rates),
  },
  latency: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max, mean: result.latency.mean },
  ops: SOAK_OPS.map((op) => ({
    op,
    count: latencies[op].length,
    p50Ms: median(latencies[op]),
    p99Ms: percentile(latencies[op], 99),
    maxMs: latencies[op].reduce((a, b) => Math.max(a, b), 0),
    unexpected: unexpectedByOp[op] ?? 0,
  })),
  statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats?.count ?? 0])),
  expectedRefusals: counts.expectedRefusals,
  revokedExpiredUnchecked: counts.revokedExpiredUnchecked,
  sessionsExpiredUnused: counts.sessionsExpiredUnused,
  errors: {
    // A lease is abandoned only after a timeout or a socket error, already counted.
    total: counts.unexpected + counts.socketErrors + counts.timeouts + (exit === 'exit code 0' ? 0 : 1),
    unexpectedStatus: counts.unexpected,
    revokedAccepted: counts.revokedAccepted,
    socketErrors: counts.socketErrors,
    timeouts: counts.timeouts,
    abandonedLeases: counts.abandonedLeases,
    autocannonErrors: result.errors,
    examples,
  },
  cli: { runs: cli.runs, failed: cli.failed, medianMs: median(cli.durationsMs), failures: cli.failures },
  server: { exit, readyAtEnd, ...problems },
  memory: {
    warmupS,
    samples,
    rss: {
      slopeMiBPerMin: rssTrend.slope,
      r2: rssTrend.r2,
      theilSenMiBPerMin: rssRobust,
      startMiB: window[0]?.rssMiB ?? Number.NaN,
      endMiB: window.at(-1)?.rssMiB ?? Number.NaN,
      minMiB: Math.min(...window.map((s) => s.rssMiB)),
      maxMiB: Math.max(...window.map((s) => s.rssMiB)),
    },
    ...(heapTrend ? { heapSlopeMiBPerMin: heapTrend.slope } : {}),
    ...(heapTotalWindow.length >= 3 ? { heapTotalSlopeMiBPerMin: theilSen(heapTotalWindow.map((s) => [s.tS / 60, s.heapTotalMiB!])) } : {}),
  },
};

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(resultFile('soak'), `${JSON.stringify(soak, null, 2)}\n`);
const section = soakSection(soak);
spliceSection(section);
console.log('');
console.log(section);
console.log('written to bench/results/soak.json and docs/BENCHMARKS.md');
if (soak.errors.total > 0) process.exitCode = 1;
