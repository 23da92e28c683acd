/**
 * The targets of docs/BENCHMARKS.md (the table at the top), the run time by section, and
 * docs/BENCHMARKS.json: everything the report says, machine-readable.
 */
import type { BenchResults } from './report.ts';
import { HTTP_TARGET } from './report-http.ts';
import { median, ms, opsPerSecond, ratio, table } from './stats.ts';

/** verifyAccess / raw node:crypto HMAC, and verifyAccess / jose, both HS256. */
export const VERIFY_RAW_TARGET = 0.6;
export const VERIFY_JOSE_TARGET = 10;
/** Revoke-all acknowledged at the largest N over at the smallest, medians. */
export const REVOKE_ALL_GROWTH_TARGET = 2;
/** Refreshes with rotation per second on a SQLite file. */
export const REFRESH_TARGET = 2000;

export interface Target {
  id: 'http' | 'verify-raw' | 'verify-jose' | 'revoke-all' | 'refresh';
  what: string;
  /** The measured ratio (or rate, for refresh); null when the section was not measured. */
  value: number | null;
  /** How the value reads in the table. */
  measured: string;
  comparison: '>=' | '<=';
  target: number;
  met: boolean | null;
  /** Where the figures behind it are, in docs/BENCHMARKS.md. */
  section: string;
}

export interface SectionTime {
  title: string;
  seconds: number;
  ok: boolean;
}

function target(t: Omit<Target, 'met' | 'measured'> & { format(value: number): string }): Target {
  const { format, ...rest } = t;
  const met = t.value === null ? null : t.comparison === '>=' ? t.value >= t.target : t.value <= t.target;
  return { ...rest, measured: t.value === null ? 'not measured' : format(t.value), met };
}

/** The five targets of the benchmark suite, each a figure measured in this run. */
export function computeTargets(results: BenchResults): Target[] {
  const http = results.http?.ok ? results.http.value.overFastifyJwt['revocable-resource'] : undefined;
  const verify = results.verify.ok ? results.verify.value : undefined;
  const revokeAll = results.revokeAll.ok ? results.revokeAll.value : undefined;
  const first = revokeAll?.[0];
  const last = revokeAll?.at(-1);
  const refresh = results.refresh.ok ? results.refresh.value : undefined;
  return [
    target({
      id: 'http',
      what: 'Protected route with revocation on (Fastify + `createResourceServer`) / bare Fastify + @fastify/jwt, requests/s',
      value: http ?? null,
      comparison: '>=',
      target: HTTP_TARGET,
      format: ratio,
      section: '2d',
    }),
    target({
      id: 'verify-raw',
      what: '`verifyAccess` (revocation on) / raw `node:crypto` HMAC, HS256 verifications/s',
      value: verify?.verifyOverRaw ?? null,
      comparison: '>=',
      target: VERIFY_RAW_TARGET,
      format: ratio,
      section: '2',
    }),
    target({
      id: 'verify-jose',
      what: '`verifyAccess` (revocation on) / jose `jwtVerify`, HS256 verifications/s',
      value: verify?.verifyOverJose ?? null,
      comparison: '>=',
      target: VERIFY_JOSE_TARGET,
      format: ratio,
      section: '2',
    }),
    target({
      id: 'revoke-all',
      what:
        first && last
          ? `Revoke-all acknowledged at N = ${last.n.toLocaleString('en-US')} / at N = ${first.n.toLocaleString('en-US')} (medians: ${ms(median(last.ack))} / ${ms(median(first.ack))})`
          : 'Revoke-all acknowledged at the largest N / at the smallest',
      value: first && last ? median(last.ack) / median(first.ack) : null,
      comparison: '<=',
      target: REVOKE_ALL_GROWTH_TARGET,
      format: ratio,
      section: '1',
    }),
    target({
      id: 'refresh',
      what: `Refresh with rotation on a SQLite file, refreshes/s (${results.concurrentChains} concurrent chains; one chain: ${refresh ? opsPerSecond(refresh.refreshSequential.opsPerSecond) : 'n/a'}/s)`,
      value: refresh?.refreshConcurrent.opsPerSecond ?? null,
      comparison: '>=',
      target: REFRESH_TARGET,
      format: (value) => `${opsPerSecond(value)}/s`,
      section: '3',
    }),
  ];
}

export function targetsSection(targets: Target[], results: BenchResults): string {
  const verdict = (t: Target) => (t.met === null ? 'not measured' : t.met ? 'met' : '**not met**');
  const goal = (t: Target) =>
    `${t.comparison === '>=' ? '≥' : '≤'} ${t.id === 'refresh' ? `${t.target.toLocaleString('en-US')}/s` : `${t.target}×`}`;
  const me = results.http?.ok ? results.http.value.overFastifyJwt['revocable-me'] : undefined;
  const eddsa = results.verifyEddsa.ok ? results.verifyEddsa.value : undefined;
  const verify = results.verify.ok ? results.verify.value : undefined;
  const notes = [
    ...(me !== undefined
      ? [
          `The standalone server's own \`GET /api/me/\`, which also reads the user from the database as Simple JWT's` +
            ` \`JWTAuthentication\` does, answers ${ratio(me)} the requests of bare Fastify + @fastify/jwt (section 2d).`,
        ]
      : []),
    ...(verify
      ? [
          `jose's \`jwtVerify\` is asynchronous (WebCrypto: every HMAC goes to libuv's thread pool and back): the bare` +
            ` \`node:crypto\` HMAC itself ran at ${ratio(1 / verify.joseOverRaw)} jose in the same rounds, so \`verifyAccess\` ≥ ${VERIFY_JOSE_TARGET}× jose` +
            ` would need \`verifyAccess\` to run at ${ratio(VERIFY_JOSE_TARGET * verify.joseOverRaw)} the raw floor on this machine.`,
        ]
      : []),
    ...(eddsa
      ? [
          `With EdDSA, \`verifyAccess\` runs at ${ratio(eddsa.verifyOverRaw)} the raw \`node:crypto\` Ed25519 check and ${ratio(eddsa.verifyOverJose)}` +
            ' jose (section 2b): the signature check dominates.',
        ]
      : []),
  ];
  return [
    '## Targets',
    '',
    `Each figure measured in this run (on ${results.machine.cores} cores; 1-minute load average ${results.machine.loadAverage} at its start` +
      `${results.loadAverageEnd !== undefined ? `, ${results.loadAverageEnd} at its end` : ''}: see the machine below).`,
    '',
    table(
      ['', 'measured', 'target', '', 'section'],
      targets.map((t) => [t.what, `**${t.measured}**`, goal(t), verdict(t), t.section]),
    ),
    '',
    ...(notes.length ? [...notes.map((note) => `- ${note}`), ''] : []),
  ].join('\n');
}

export function runTimeSection(times: SectionTime[], durationS: number, loadAverageEnd?: number): string {
  return [
    '### Run time by section',
    '',
    ...(loadAverageEnd !== undefined ? [`Load average (1 min) when the run ended: ${loadAverageEnd}.`, ''] : []),
    table(
      ['section', 'seconds'],
      [
        ...times.map((t) => [t.ok ? t.title : `${t.title} (failed)`, t.seconds.toFixed(1)]),
        ['**whole run** (with start-up and the report)', `**${durationS.toFixed(0)}**`],
      ],
    ),
    '',
  ].join('\n');
}

/** docs/BENCHMARKS.json: the run's inputs and every figure, and the targets. */
export function benchmarksJson(results: BenchResults, targets: Target[]): string {
  return `${JSON.stringify(
    {
      generatedBy: 'npm run bench (bench/run.ts)',
      report: 'docs/BENCHMARKS.md',
      machine: results.machine,
      durationS: results.durationS,
      loadAverageEnd: results.loadAverageEnd,
      sectionTimes: results.sectionTimes ?? [],
      targets,
      results: { ...results, machine: undefined, durationS: undefined, sectionTimes: undefined, loadAverageEnd: undefined },
    },
    (_key, value) => (typeof value === 'number' && !Number.isFinite(value) ? null : value),
    2,
  )}\n`;
}
