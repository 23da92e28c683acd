import type { Machine } from './machine.ts';
import { count, ms, opsPerSecond, table } from './stats.ts';

/** The soak's figures (bench/soak.ts writes them to bench/results/soak.json) and its section of docs/BENCHMARKS.md. */

export const SOAK_OPS = ['login', 'refresh', 'me', 'verify', 'logout', 'logout-all', 'check-revoked', 'idle'] as const;
export type SoakOp = (typeof SOAK_OPS)[number];

export interface SoakSample {
  /** Seconds since the load started. */
  tS: number;
  rssMiB: number;
  /** From the server's own /metrics: `nodejs_heap_size_used_bytes`, `…_total_bytes`, `nodejs_external_memory_bytes`. */
  heapUsedMiB?: number;
  heapTotalMiB?: number;
  externalMiB?: number;
  /** Entries of the revocation cache (`revocable_revocation_cache_entries`). */
  cache?: { tokens: number; sessions: number; users: number };
  /** Answers per second since the previous sample. */
  requestsPerS: number;
  load1: number;
}

export interface SoakResult {
  date: string;
  machine: Machine;
  config: {
    minutes: number;
    maxRequests: number;
    /** autocannon's `overallRate` (req/s), when the run was paced. */
    rate?: number;
    connections: number;
    users: number;
    maxSessionsPerUser: number;
    rates: { login: number; logout: number; logoutAll: number };
    weights: { me: number; verify: number; refresh: number };
    cliEveryS: number;
    sampleEveryS: number;
    serverEnv: Record<string, string>;
  };
  durationS: number;
  loadAverage: { start: number[]; end: number[] };
  requests: { total: number; perSecond: number; windowMin: number; windowMedian: number; windowMax: number };
  /** autocannon's, over every request (ms). */
  latency: { p50: number; p99: number; max: number; mean: number };
  ops: { op: SoakOp; count: number; p50Ms: number; p99Ms: number; maxMs: number; unexpected: number }[];
  statusCodes: Record<string, number>;
  /** Revoked access tokens presented again and refused with `Token is blacklisted`, as they must be. */
  expectedRefusals: number;
  revokedExpiredUnchecked: number;
  sessionsExpiredUnused: number;
  errors: {
    total: number;
    unexpectedStatus: number;
    revokedAccepted: number;
    socketErrors: number;
    timeouts: number;
    abandonedLeases: number;
    autocannonErrors: number;
    examples: string[];
  };
  cli: { runs: number; failed: number; medianMs: number; failures: string[] };
  server: { exit: string; readyAtEnd: boolean; warnings: number; errors: number; first: string[] };
  memory: {
    warmupS: number;
    samples: SoakSample[];
    rss: {
      slopeMiBPerMin: number;
      r2: number;
      /** Theil–Sen (the median of the slopes between every two samples): not pulled by short spikes. */
      theilSenMiBPerMin?: number;
      startMiB: number;
      endMiB: number;
      minMiB: number;
      maxMiB: number;
    };
    heapSlopeMiBPerMin?: number;
    heapTotalSlopeMiBPerMin?: number;
  };
}

/** Least-squares line through `points` ([x, y]): its slope and R². */
export function trend(points: readonly (readonly [number, number])[]): { slope: number; r2: number } {
  const n = points.length;
  if (n < 2) return { slope: Number.NaN, r2: Number.NaN };
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
    syy += (y - my) ** 2;
  }
  const slope = sxy / sxx;
  return { slope, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

/** The Theil–Sen slope of `points`: the median of the slopes between every two of them. */
export function theilSen(points: readonly (readonly [number, number])[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const [xi, yi] = points[i]!;
      const [xj, yj] = points[j]!;
      if (xj !== xi) slopes.push((yj - yi) / (xj - xi));
    }
  }
  slopes.sort((a, b) => a - b);
  return slopes.length ? slopes[Math.floor(slopes.length / 2)]! : Number.NaN;
}

export const SOAK_TITLE = '## 7. Soak: mixed load on `revocable serve`';

const mib = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(1)} MiB`);
const signed = (value: number) => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(2)}`;
const minutes = (seconds: number) => `${(seconds / 60).toFixed(seconds % 60 === 0 ? 0 : 1)} min`;

const OP_LABEL: Record<SoakOp, string> = {
  login: 'login `POST /api/token/`',
  refresh: 'refresh `POST /api/token/refresh/` (rotation)',
  me: '`GET /api/me/`',
  verify: '`POST /api/token/verify/`',
  logout: 'logout `POST /api/logout/`',
  'logout-all': 'revoke the user `POST /api/logout-all/`',
  'check-revoked': 'a revoked access token again (`GET /api/me/`, must be 401)',
  idle: '`GET /healthz` (no user free)',
};

export function soakSection(r: SoakResult): string {
  const c = r.config;
  const opRows = r.ops
    .filter((o) => o.count > 0)
    .map((o) => [
      OP_LABEL[o.op],
      count(o.count),
      `${((100 * o.count) / r.requests.total).toFixed(1)} %`,
      ms(o.p50Ms),
      ms(o.p99Ms),
      ms(o.maxMs),
      count(o.unexpected),
    ]);
  const everyMinute = r.memory.samples.filter(
    (s, i, all) =>
      i === 0 || Math.floor(s.tS / 60) !== Math.floor(all[i - 1]!.tS / 60) || (i === all.length - 1 && s.tS - all[i - 1]!.tS > 2),
  );
  const rss = r.memory.rss;
  const e = r.errors;
  const env = Object.entries(c.serverEnv)
    .map(([k, v]) => `\`${k}=${v}\``)
    .join(', ');
  const first = r.memory.samples.find((s) => s.tS >= r.memory.warmupS)?.cache;
  const last = r.memory.samples.at(-1)?.cache;
  const pace =
    c.rate !== undefined
      ? `paced at ${count(c.rate)} requests per second in all (autocannon's \`overallRate\`: each connection sends its share at the start of every second), so the workload stays the same whatever else the machine runs`
      : 'each connection sending its next request as soon as it has an answer';
  return [
    SOAK_TITLE,
    '',
    `Last run: **${r.date}**, \`npm run soak -- --minutes ${c.minutes}${c.rate !== undefined ? ` --rate ${c.rate}` : ''}\` (\`bench/soak.ts\`;`,
    `\`npm run bench\` does not run it, it renders this section from \`bench/results/soak.json\`). ${r.machine.cpu},`,
    `${r.machine.cores} cores, Node ${r.machine.node}. Load average (1, 5, 15 min) ${r.loadAverage.start.join(', ')} at the start and`,
    `${r.loadAverage.end.join(', ')} at the end: the load generator keeps about one core busy, and more than that was other work`,
    'sharing the machine, which the latencies include.',
    '',
    `A real \`revocable serve\` process (\`node bin/revocable.js serve\`, its log piped to a filter process) on a SQLite file,`,
    `${count(c.users)} seeded users (argon2id at the default cost), ${env}; rotation and blacklisting after rotation`,
    "on and login throttling at its defaults (the server's). autocannon, in process, keeps",
    `${c.connections} connections with one request in flight each on loopback, ${pace}. Every user logs in once`,
    'before; then each request is picked from a pool of live sessions: logins',
    `(${c.rates.login}/s, up to ${c.maxSessionsPerUser} sessions a user), logouts (${c.rates.logout}/s), user revocations (\`POST /api/logout-all/\`,`,
    `${c.rates.logoutAll}/s), and otherwise \`/api/me/\`, verify and refresh in the proportions ${c.weights.me} : ${c.weights.verify} : ${c.weights.refresh}; a session`,
    'whose access token is about to expire is refreshed first. A user is leased to one request at a time, so no two',
    'requests race on the same tokens and every answer other than the expected one is an error. After each',
    'revocation one of the revoked access tokens is presented again and must get 401 `Token is blacklisted`. Every',
    `${c.cliEveryS} s an operator runs \`revocable revoke-user\` in a process of its own on the same file (the server learns it`,
    'from its revocation-log poll; the revoked token is presented 1 s later).',
    '',
    'Token lifetimes are short so that the revocation cache reaches its steady size early: a token entry (one per',
    'rotation or blacklisting) is kept until the token it names expires, here within 60 s, and pruned every',
    "60 s. Session and user entries are kept for the server's horizon, its longest token lifetime, which includes",
    'the sliding refresh lifetime (one day by default; `revocable serve` has no variable for it): they grow through',
    `the run, one per logout or revocation, by design (${first ? `${count(first.sessions)} sessions and ${count(first.users)} users after the warm-up,` : ''}` +
      `${last ? ` ${count(last.sessions)} and ${count(last.users)} at the end` : ''}).`,
    '',
    table(
      ['', ''],
      [
        ['Duration', `${minutes(r.durationS)} (${count(Math.round(r.durationS))} s)`],
        ['Requests', count(r.requests.total)],
        [
          'Throughput',
          `${opsPerSecond(r.requests.perSecond)} req/s on average; per ${c.sampleEveryS}-s window: min ${opsPerSecond(r.requests.windowMin)},` +
            ` median ${opsPerSecond(r.requests.windowMedian)}, max ${opsPerSecond(r.requests.windowMax)}`,
        ],
        ['Latency (all requests)', `p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)}, max ${ms(r.latency.max)}`],
        [
          '**Errors**',
          `**${count(e.total)}**: ${count(e.unexpectedStatus)} unexpected statuses (of which ${count(e.revokedAccepted)} revoked tokens accepted),` +
            ` ${count(e.socketErrors)} socket errors, ${count(e.timeouts)} timeouts`,
        ],
        [
          'Expected refusals',
          `${count(r.expectedRefusals)} revoked access tokens refused with \`Token is blacklisted\`` +
            ` (${count(r.revokedExpiredUnchecked)} more expired before their turn)`,
        ],
        [
          'Operator `revoke-user` (another process)',
          `${count(r.cli.runs)} runs, ${count(r.cli.failed)} failed, median ${ms(r.cli.medianMs)} each (process start included)`,
        ],
        ['Status codes', Object.entries(r.statusCodes).map(([code, n]) => `${code}: ${count(n)}`).join(', ')],
        [
          'Server',
          `${r.server.warnings} warnings and ${r.server.errors} errors in its log; \`/readyz\` ${r.server.readyAtEnd ? '200' : '**not ready**'}` +
            ` at the end; stopped with SIGTERM: ${r.server.exit}`,
        ],
        [
          `**RSS after the first ${minutes(r.memory.warmupS)}**`,
          `**${signed(rss.slopeMiBPerMin)} MiB/min** by least squares over ${minutes(r.durationS - r.memory.warmupS)} (R² ${rss.r2.toFixed(2)})` +
            (rss.theilSenMiBPerMin !== undefined ? `, ${signed(rss.theilSenMiBPerMin)} MiB/min by Theil–Sen (robust to spikes)` : '') +
            `; ${mib(rss.startMiB)} → ${mib(rss.endMiB)}, range ${mib(rss.minMiB)} – ${mib(rss.maxMiB)}`,
        ],
        [
          'V8 heap, same window',
          (r.memory.heapSlopeMiBPerMin === undefined ? 'n/a' : `used ${signed(r.memory.heapSlopeMiBPerMin)} MiB/min (least squares)`) +
            (r.memory.heapTotalSlopeMiBPerMin === undefined ? '' : `, committed ${signed(r.memory.heapTotalSlopeMiBPerMin)} MiB/min (Theil–Sen)`),
        ],
      ],
    ),
    '',
    'A login makes one argon2id hash of 19 MiB, outside the V8 heap: the RSS spikes of about that size in the',
    'samples are logins in flight.',
    '',
    table(['request', 'count', 'share', 'p50', 'p99', 'max', 'unexpected'], opRows),
    '',
    `The server over time (sampled every ${c.sampleEveryS} s, shown once a minute; RSS from \`/proc/<pid>/status\`, the rest from its \`/metrics\`):`,
    '',
    table(
      ['time', 'RSS', 'heap used / committed', 'external', 'revocation cache (tokens / sessions / users)', 'req/s (last window)', 'load (1 min)'],
      everyMinute.map((s, i) => [
        `${(s.tS / 60).toFixed(1)} min`,
        mib(s.rssMiB),
        `${mib(s.heapUsedMiB)} / ${mib(s.heapTotalMiB)}`,
        mib(s.externalMiB),
        s.cache ? `${count(s.cache.tokens)} / ${count(s.cache.sessions)} / ${count(s.cache.users)}` : 'n/a',
        i === 0 ? '' : opsPerSecond(s.requestsPerS),
        String(s.load1),
      ]),
    ),
    '',
    ...(e.examples.length
      ? ['First errors:', '', ...e.examples.slice(0, 10).map((x) => `- \`${x.replaceAll('`', "'")}\``), '']
      : []),
    ...(r.server.first.length
      ? ["First lines of the server's warnings and errors:", '', ...r.server.first.map((x) => `- \`${x.replaceAll('`', "'")}\``), '']
      : []),
  ].join('\n');
}

export function readSoak(r: SoakResult): string[] {
  const rss = r.memory.rss;
  const slope = rss.theilSenMiBPerMin ?? rss.slopeMiBPerMin;
  const flat = Math.abs(slope) < 0.5;
  return [
    `- **Soak (${minutes(r.durationS)}, ${r.date})**: ${count(r.requests.total)} requests at ${opsPerSecond(r.requests.perSecond)} req/s,` +
      ` p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)}, **${count(r.errors.total)} errors**,` +
      ` ${count(r.expectedRefusals)} revoked tokens refused as they must be. The server's RSS moved by` +
      ` ${signed(slope)} MiB/min after the first ${minutes(r.memory.warmupS)}` +
      (flat ? ' (flat: no leak shows at this scale).' : ' (**not flat**: see the samples).'),
  ];
}
