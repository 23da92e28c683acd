import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { FLUSH_SEED, benchFlushExpired } from './flush-expired.ts';
import { benchHttp } from './http.ts';
import { describeMachine } from './machine.ts';
import { benchPropagation } from './propagation.ts';
import { CONCURRENT_CHAINS, benchRefresh } from './refresh.ts';
import { benchRefreshBackends } from './refresh-backends.ts';
import { type BenchResults, type Outcome, renderReport } from './report.ts';
import { writeCharts } from './report-charts.ts';
import { type SectionTime, benchmarksJson, computeTargets } from './report-targets.ts';
import { REVOKE_ALL_PLANS, type RevokeAllResult, benchRevokeAll } from './revoke-all.ts';
import { benchResourceServer } from './resource-server.ts';
import { type Probe, probePostgres, probeRedis } from './servers.ts';
import { benchVerifyEddsa } from './verify-eddsa.ts';
import { benchVerify } from './verify.ts';

const REPORT = new URL('../docs/BENCHMARKS.md', import.meta.url);
const REPORT_JSON = new URL('../docs/BENCHMARKS.json', import.meta.url);
const DOCS = new URL('../docs/', import.meta.url);
const log = (line: string) => console.log(line);

/** How long each section took, in run order (the report lists them). */
const sectionTimes: SectionTime[] = [];

/** Runs one benchmark; a failure is reported (and fails the run) without losing the others' figures. */
async function attempt<T>(title: string, run: () => Promise<T>): Promise<Outcome<T>> {
  log(title);
  const t0 = performance.now();
  const done = (ok: boolean) => {
    const seconds = (performance.now() - t0) / 1000;
    sectionTimes.push({ title, seconds, ok });
    log(`  (${seconds.toFixed(1)} s)`);
  };
  try {
    const value = await run();
    done(true);
    return { ok: true, value };
  } catch (error) {
    done(false);
    console.error(`  FAILED: ${title}`, error);
    process.exitCode = 1;
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

const started = performance.now();
const machine = describeMachine();
log(`revocable benchmarks: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);
const servers = { postgres: await probePostgres(), redis: await probeRedis() };
const describe = (name: string, probe: Probe) =>
  probe.reachable
    ? `${name}: ${probe.description} at ${probe.url}`
    : `${name}: UNREACHABLE at ${probe.url} (${probe.reason}); the benchmarks needing it are reported as not measured`;
log(describe('PostgreSQL', servers.postgres));
log(describe('Redis', servers.redis));

// The throughput comparison first, while nothing else has run: it is the most sensitive to noise.
const verify = await attempt('verifyAccess throughput', () => benchVerify(log));
const verifyEddsa = await attempt('verifyAccess throughput, EdDSA', () => benchVerifyEddsa(log));
const resourceServer = await attempt('resource server verifySync throughput, HS256 and EdDSA', () =>
  benchResourceServer(log),
);
// Servers and the load generator in child processes: nothing else runs meanwhile.
const http = await attempt('HTTP: GET /api/me/ on each server, autocannon in its own process', () => benchHttp(log));
const revokeAll = await attempt('revoke-all latency (SQLite file)', async () => {
  const results: RevokeAllResult[] = [];
  for (const plan of REVOKE_ALL_PLANS) results.push(await benchRevokeAll(plan, log));
  return results;
});
const refresh = await attempt('refresh with rotation and login (SQLite file)', () => benchRefresh(log));
const backends = await attempt('refresh with rotation, SQLite and PostgreSQL side by side', () =>
  benchRefreshBackends(servers.postgres, log),
);
const flushExpired = await attempt(
  `flush-expired on ${FLUSH_SEED.outstandingTokens.toLocaleString('en-US')} expired rows, access checks meanwhile (SQLite; PostgreSQL)`,
  () => benchFlushExpired(servers.postgres, log),
);
// Last: instance B spins on a core for the whole section.
const propagation = await attempt('revocation propagation between two instances (PostgreSQL)', () =>
  benchPropagation(servers, log),
);
if (propagation.ok && propagation.value.some((outcome) => outcome.status === 'failed')) process.exitCode = 1;

const charts = writeCharts(DOCS, {
  revokeAll: revokeAll.ok ? revokeAll.value : undefined,
  http: http.ok ? http.value : undefined,
});
const durationS = (performance.now() - started) / 1000;
const results: BenchResults = {
  machine,
  durationS,
  sectionTimes,
  loadAverageEnd: Math.round(loadavg()[0]! * 100) / 100,
  revokeAll,
  verify,
  verifyEddsa,
  resourceServer,
  http,
  refresh,
  concurrentChains: CONCURRENT_CHAINS,
  servers,
  propagation,
  backends,
  flushExpired,
};
const report = renderReport(results);
writeFileSync(REPORT, report);
writeFileSync(REPORT_JSON, benchmarksJson(results, computeTargets(results)));
log('');
log(report);
log(`written to docs/BENCHMARKS.md, docs/BENCHMARKS.json${charts.map((name) => `, docs/${name}`).join('')} in ${durationS.toFixed(0)} s`);
