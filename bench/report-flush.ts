import { type CheckLatency, DEFAULT_FLUSH_ROWS, type FlushBackendResult, type FlushExpiredResult, type FlushRun } from './flush-expired.ts';
import { count, ms, opsPerSecond, ratio, table } from './stats.ts';

/** The `flush-expired` section of docs/BENCHMARKS.md and its reading (bench/flush-expired.ts measures). */

export const FLUSH_TITLE = '## 6. Expired-row cleanup: `flush-expired`';

const rowsOf = (run: FlushRun) =>
  run.counts.outstandingTokens + run.counts.blacklistedTokens + run.counts.sessions + run.counts.revocationLog;

function seedText(backend: FlushBackendResult): string {
  const s = backend.seed;
  return (
    `${count(s.outstandingTokens)} expired outstanding tokens, ${count(s.sessions)} expired sessions, ` +
    `${count(s.blacklistedTokens)} expired blacklist rows and ${count(s.revocationLog)} expired token entries of the revocation log, ` +
    `beside ${count(s.live)} live logins that must stay`
  );
}

export function flushSection(r: FlushExpiredResult): string {
  const latency = (l: CheckLatency) => [ms(l.p50), ms(l.p99), ms(l.max)];
  const backends = [r.sqlite, ...('runs' in r.postgres ? [r.postgres] : [])];
  const rows = backends.flatMap((backend) => [
    ...backend.runs.map((run) => [
      backend.backend,
      run.name,
      count(rowsOf(run)),
      ms(run.totalMs),
      opsPerSecond(run.rowsPerSecond),
      ...latency(run.latency),
      ms(run.stallMs),
    ]),
    [backend.backend, 'nothing running (1 s)', '', '', '', ...latency(backend.idle), ''],
  ]);
  return [
    FLUSH_TITLE,
    '',
    `Rows: ${count(r.sqlite.seed.outstandingTokens)} expired outstanding tokens in this run, set by \`REVOCABLE_BENCH_FLUSH_ROWS\``,
    `(default ${count(DEFAULT_FLUSH_ROWS)}, so that the suite stays under five minutes; \`REVOCABLE_BENCH_FLUSH_ROWS=1000000 npm run bench\``,
    'measures the 1,000,000 rows of the acceptance, about a minute more).',
    '',
    `SQLite file: ${seedText(r.sqlite)}, bulk-inserted by one statement per table (not measured:`,
    `${ms(r.sqlite.seedMs)}). Then \`await auth.flushExpired()\`: batches of ${count(r.batchSize)} rows, each one DELETE in a`,
    'transaction of its own, oldest expiry first, with a turn of the event loop between batches. Meanwhile',
    `access checks (\`auth.verifyAccess\` of a live token, in the same process) fall due ${count(r.checksPerSecond)} times a second;`,
    'each is timed from when it fell due to its answer, so a check that had to wait behind a batch counts its',
    'wait. The alternative, on a copy of the same file: the flush as it was before batching, and as Simple',
    "JWT's `flushexpiredtokens` runs it (one queryset delete, one transaction): one DELETE per table in one",
    'transaction.',
    '',
    'runs' in r.postgres
      ? `PostgreSQL (${seedText(r.postgres)}: a quarter of the SQLite set, the rate and the latency are what compare): the batched flush only, the same checks.`
      : `PostgreSQL: not measured in this run (${'skipped' in r.postgres ? r.postgres.skipped : ''}).`,
    '',
    table(
      [
        'database',
        'flush',
        'rows deleted',
        'time',
        'rows/s',
        'verifyAccess p50',
        'p99',
        'max',
        'event loop blocked (longest)',
      ],
      rows,
    ),
    '',
  ].join('\n');
}

export function readFlush(r: FlushExpiredResult): string[] {
  const [batched, single] = r.sqlite.runs;
  if (!batched) return [];
  const lines = [
    `- **\`flush-expired\` on ${count(rowsOf(batched))} expired rows took ${ms(batched.totalMs)} on SQLite**` +
      ` (${opsPerSecond(batched.rowsPerSecond)} rows/s), and no access check waited longer than ${ms(batched.latency.max)}` +
      ` (p99 ${ms(batched.latency.p99)}, p50 ${ms(batched.latency.p50)}): the longest batch, whatever the backlog.` +
      ' better-sqlite3 is synchronous, so each batch holds the event loop while it runs; back to back, the batches' +
      ' keep the loop busy most of the time, hence the p50. Deleting a row rewrites pages of every index it is in,' +
      ' and the jti index is in random order, so each batch dirties thousands of pages that its commit and the' +
      " WAL checkpoint write and fsync (`synchronous = FULL`): that, not the finding of rows, is the flush's cost.",
  ];
  if (single) {
    lines.push(
      `- **In one transaction the same flush took ${ms(single.totalMs)}** (the batches take ${ratio(batched.totalMs / single.totalMs)}` +
        ` as long: in one transaction every page is written once) **and blocked every access check for up to ${ms(single.latency.max)}**.` +
        ' Batching trades total time for a bound on the stall; `batchSize` (`revocable flush-expired --batch-size`)' +
        ' moves along that trade: a large backlog is best flushed once from the CLI, in a process of its own, where' +
        " no request waits on the event loop (the server's own writes still wait for the database lock, one batch at most).",
    );
  }
  if ('runs' in r.postgres) {
    const pg = r.postgres.runs[0]!;
    lines.push(
      `- **On PostgreSQL the flush does not block the process**: ${count(rowsOf(pg))} rows in ${ms(pg.totalMs)}` +
        ` (${opsPerSecond(pg.rowsPerSecond)} rows/s) with access checks at p99 ${ms(pg.latency.p99)}, max ${ms(pg.latency.max)}` +
        ` (nothing running: p99 ${ms(r.postgres.idle.p99)}). The batches run on the server while the event loop turns;` +
        ' what delay remains is the database server sharing the machine\'s cores with the process.',
    );
  }
  return lines;
}
