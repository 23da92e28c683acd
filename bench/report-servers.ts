/** The sections of docs/BENCHMARKS.md that need PostgreSQL (and Redis): propagation, SQLite vs PostgreSQL. */
import { BUS_TARGET_MS, type PropagationOutcome, type PropagationRun, targetMs } from './propagation.ts';
import type { BackendLoads, RefreshBackendsResult } from './refresh-backends.ts';
import type { Probe } from './servers.ts';
import { count, max, median, ms, opsPerSecond, percentile, ratio, table } from './stats.ts';

export interface Servers {
  postgres: Probe;
  redis: Probe;
}

export const PROPAGATION_TITLE = '## 4. Revocation propagation between instances';
export const BACKENDS_TITLE = '## 5. Refresh with rotation: SQLite and PostgreSQL side by side';

const code = (text: string) => `\`${text.replaceAll('`', "'")}\``;

/** One line per server: what it is, or that it could not be reached and why. */
export function describeServer(name: string, probe: Probe): string {
  return probe.reachable
    ? `${probe.description} at \`${probe.url}\``
    : `**${name} unreachable** at \`${probe.url}\`: ${code(probe.reason)}`;
}

const p99 = (run: PropagationRun) => percentile(run.latency, 99);
const met = (value: number, target: number) => (value <= target ? 'met' : '**missed**');

export function propagationSection(outcomes: PropagationOutcome[], servers: Servers): string {
  const rows = outcomes.map((outcome) => {
    const { plan } = outcome;
    const target = `p99 ≤ ${ms(targetMs(plan))}`;
    if (outcome.status !== 'measured') {
      const why = outcome.status === 'skipped' ? `not measured: ${outcome.reason}` : `failed: ${outcome.error}`;
      return [plan.name, 'n/a', `*${why.replaceAll('|', '/')}*`, '', '', `${target}: n/a`, '', ''];
    }
    const { run } = outcome;
    return [
      plan.name,
      count(run.latency.length),
      ms(percentile(run.latency, 50)),
      `**${ms(p99(run))}**`,
      ms(max(run.latency)),
      `${target}: ${met(p99(run), targetMs(plan))}`,
      ms(median(run.ack)),
      ms(run.checkIntervalMs),
    ];
  });
  const measured = outcomes.filter((o): o is Extract<PropagationOutcome, { status: 'measured' }> => o.status === 'measured');
  const diagnostics = measured.map(({ plan, run }) => [
    plan.name,
    `${ms(run.clock.offsetMs)} (round trip ${ms(run.clock.rttMs)})`,
    count(run.reads.count),
    ms(run.reads.medianMs),
    ms(run.reads.maxMs),
    ms(run.reads.longestGapMs),
    count(run.latency.filter((latency) => latency < 0).length),
    run.warnings.length ? run.warnings.map((w) => code(w)).join('; ') : 'none',
  ]);
  const unreachable = [servers.postgres, servers.redis].filter((probe) => !probe.reachable);
  return [
    PROPAGATION_TITLE,
    '',
    'Two instances on one PostgreSQL database, in a schema created for each configuration and dropped',
    'after it. **A**, the benchmark process, revokes; **B**, a child process',
    '(`bench/propagation-peer.ts`) with its own `createAuth` on the same database (and bus), calls',
    '`verifyAccess` on the token on every event-loop turn (a `setImmediate` chain, so bus messages and',
    'poll timers are served in between, as in a server) and reports when it first refused it.',
    '',
    '- **latency**: from A\'s acknowledgement (`await auth.revokeAllForUser(id)` or',
    '  `await auth.revokeSession(sid)` resolving; the two alternate) to B\'s first refusing check. Both',
    '  ends are `performance.timeOrigin + performance.now()` in their own process; the offset between the',
    '  two clocks, estimated from the IPC ping with the shortest round trip, is subtracted. A negative',
    "  latency means B refused the token before A's `await` had resumed.",
    '- With a bus, one revocation at a time, each after a random pause of up to 10 ms. Without one the',
    '  latency depends on where the revocation falls in B\'s poll period, so the pause is drawn uniformly',
    '  over a whole period, and four revocations (four users) are under way at once to keep the run short.',
    '- Both instances keep the default `revocationPollInterval` (250 ms) in the bus configurations: the',
    '  poll runs too, as in production, and would carry a revocation the bus dropped.',
    '',
    `Servers: ${describeServer('PostgreSQL', servers.postgres)}; ${describeServer('Redis', servers.redis)}.`,
    ...(unreachable.length
      ? ['', `**Configurations needing ${unreachable.map((p) => p.url).join(' or ')} were not measured in this run.**`]
      : []),
    '',
    table(
      ['configuration', 'revocations', 'p50', 'p99', 'max', `target (${BUS_TARGET_MS} ms with a bus, the poll interval without)`, "A's acknowledgement (median)", "B's check interval"],
      rows,
    ),
    '',
    ...(diagnostics.length
      ? [
          "What sets the figures: the clock offset removed, and B's reads of the revocation log during the measured",
          'revocations (the poll, timed from outside the library), and any warning either instance logged',
          '(a bus that fell back to the poll would show there).',
          '',
          table(
            [
              'configuration',
              "B's clock − A's",
              "B's log reads",
              'read median',
              'read max',
              'longest gap between reads',
              "refused before A's await resumed",
              'warnings',
            ],
            diagnostics,
          ),
          '',
        ]
      : []),
  ].join('\n');
}

export function backendsSection(result: RefreshBackendsResult, servers: Servers): string {
  if (result.status === 'skipped') {
    return [
      BACKENDS_TITLE,
      '',
      `**Not measured in this run**: ${describeServer('PostgreSQL', servers.postgres)}. The SQLite figures are in section 3.`,
      '',
    ].join('\n');
  }
  const latency = (r: BackendLoads['oneChain']) => `${ms(r.medianMs)} / ${ms(r.p95Ms)}`;
  const row = (clients: string, sqlite: BackendLoads['oneChain'], pg: BackendLoads['oneChain']) => [
    clients,
    opsPerSecond(sqlite.opsPerSecond),
    opsPerSecond(pg.opsPerSecond),
    `**${ratio(pg.opsPerSecond / sqlite.opsPerSecond)}**`,
    latency(sqlite),
    latency(pg),
    `${count(sqlite.ops)} / ${count(pg.ops)}`,
  ];
  const total = ((result.roundsMs.rounds * result.roundsMs.sliceMs) / 1000).toFixed(1);
  return [
    BACKENDS_TITLE,
    '',
    "Section 3's refresh workload (`rotateRefreshTokens` and `blacklistAfterRotation`, chains each",
    'presenting the refresh token the previous refresh returned) on a SQLite file and on PostgreSQL',
    `(${describeServer('PostgreSQL', servers.postgres)}, a fresh schema, the store's pool of 10 connections,`,
    `over TCP on the loopback). Each of the four lines runs ${total} s in all, in ${result.roundsMs.sliceMs} ms slices`,
    'taking turns with the other three, the two databases alternating, so both see the same spells of a',
    'noisy machine. Every refresh is checked afterwards to have blacklisted exactly one rotated token.',
    "The SQLite figures are measured at another moment than section 3's, and fsync times drift on a VM:",
    'compare the two databases within this table.',
    '',
    table(
      ['concurrency', 'SQLite refreshes/s', 'PostgreSQL refreshes/s', 'PostgreSQL / SQLite', 'SQLite latency median / p95', 'PostgreSQL latency median / p95', 'refreshes (SQLite / PostgreSQL)'],
      [
        row('1 chain', result.sqlite.oneChain, result.postgres.oneChain),
        row(`${result.chains} chains`, result.sqlite.manyChains, result.postgres.manyChains),
      ],
    ),
    '',
  ].join('\n');
}

export function readPropagation(outcomes: PropagationOutcome[]): string[] {
  return outcomes.map((outcome) => {
    const { plan } = outcome;
    if (outcome.status === 'skipped') return `- **${plan.name}: not measured** (${outcome.reason}).`;
    if (outcome.status === 'failed') return `- **${plan.name}: failed** (${code(outcome.error)}).`;
    const { run } = outcome;
    const value = p99(run);
    const target = targetMs(plan);
    const verdict = `p99 ${ms(value)} against a target of ${ms(target)}: ${met(value, target)}`;
    if (plan.bus) {
      return (
        `- **${plan.name}**: ${verdict}; half the revocations were refused on B within ${ms(percentile(run.latency, 50))}` +
        ` of A's acknowledgement, the slowest after ${ms(max(run.latency))}.` +
        (run.warnings.length ? ' Warnings were logged during the run (see above): the bus may not have carried every revocation.' : '')
      );
    }
    const interval = plan.pollIntervalS * 1000;
    return (
      `- **${plan.name}**: ${verdict}. Without a bus a revocation waits for B's next read of the log: up to one` +
      ` interval, plus the read itself (median ${ms(run.reads.medianMs)}, longest ${ms(run.reads.maxMs)}), so p99 lands` +
      ` near ${ms(0.99 * interval + run.reads.medianMs)} by construction, and the slowest case (here ${ms(max(run.latency))})` +
      ' is a whole interval plus a slow read or a late timer' +
      (value > target
        ? `. The target is missed by ${ms(value - target)}: the read's own time, and timers firing late` +
          ` (longest gap between two reads ${ms(run.reads.longestGapMs)}).`
        : '.')
    );
  });
}

export function readBackends(result: RefreshBackendsResult): string[] {
  if (result.status === 'skipped') return [];
  const one = result.postgres.oneChain.opsPerSecond / result.sqlite.oneChain.opsPerSecond;
  const many = result.postgres.manyChains.opsPerSecond / result.sqlite.manyChains.opsPerSecond;
  const pgScaling = result.postgres.manyChains.opsPerSecond / result.postgres.oneChain.opsPerSecond;
  const sqliteScaling = result.sqlite.manyChains.opsPerSecond / result.sqlite.oneChain.opsPerSecond;
  const compare = (r: number) => (r >= 1 ? `${ratio(r)} the SQLite rate` : `${ratio(r)} the SQLite rate (SQLite ${ratio(1 / r)} faster)`);
  return [
    `- **PostgreSQL refreshes at ${compare(one)} on one chain and ${compare(many)} with ${result.chains} chains.**` +
      ` One chain is one transaction after another: SQLite pays an in-process fsync per commit, PostgreSQL a round trip` +
      ' per statement (over TCP, to another process) plus its WAL flush.' +
      (pgScaling > sqliteScaling
        ? ` From 1 to ${result.chains} chains PostgreSQL gained more (${ratio(pgScaling)}) than SQLite (${ratio(sqliteScaling)}):` +
          " its transactions run on separate connections and overlap, where SQLite's single connection queues them."
        : ` Concurrency helped PostgreSQL no more than SQLite here (${ratio(pgScaling)} and ${ratio(sqliteScaling)} from 1 to` +
          ` ${result.chains} chains) although its transactions run on separate connections.`),
  ];
}
