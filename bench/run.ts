import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { benchFlushExpired } from './flush-expired.ts';
import { describeMachine } from './machine.ts';
import { benchPropagation } from './propagation.ts';
import { CONCURRENT_CHAINS, benchRefresh } from './refresh.ts';
import { benchRefreshBackends } from './refresh-backends.ts';
import { type Outcome, renderReport } from './report.ts';
import { REVOKE_ALL_PLANS, type RevokeAllResult, benchRevokeAll } from './revoke-all.ts';
import { benchResourceServer } from './resource-server.ts';
import { type Probe, probePostgres, probeRedis } from './servers.ts';
import { benchVerifyEddsa } from './verify-eddsa.ts';
import { benchVerify } from './verify.ts';

const REPORT = new URL('../docs/BENCHMARKS.md', import.meta.url);
const log = (line: string) => console.log(line);

/** Runs one benchmark; a failure is reported (and fails the run) without losing the others' figures. */
async function attempt<T>(title: string, run: () => Promise<T>): Promise<Outcome<T>> {
  log(title);
  try {
    return { ok: true, value: await run() };
  } catch (error) {
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
const revokeAll = await attempt('revoke-all latency (SQLite file)', async () => {
  const results: RevokeAllResult[] = [];
  for (const plan of REVOKE_ALL_PLANS) results.push(await benchRevokeAll(plan, log));
  return results;
});
const refresh = await attempt('refresh with rotation and login (SQLite file)', () => benchRefresh(log));
const backends = await attempt('refresh with rotation, SQLite and PostgreSQL side by side', () =>
  benchRefreshBackends(servers.postgres, log),
);
const flushExpired = await attempt('flush-expired on 1,000,000 expired rows, access checks meanwhile (SQLite; PostgreSQL)', () =>
  benchFlushExpired(servers.postgres, log),
);
// Last: instance B spins on a core for the whole section.
const propagation = await attempt('revocation propagation between two instances (PostgreSQL)', () =>
  benchPropagation(servers, log),
);
if (propagation.ok && propagation.value.some((outcome) => outcome.status === 'failed')) process.exitCode = 1;

const durationS = (performance.now() - started) / 1000;
const report = renderReport({
  machine,
  durationS,
  revokeAll,
  verify,
  verifyEddsa,
  resourceServer,
  refresh,
  concurrentChains: CONCURRENT_CHAINS,
  servers,
  propagation,
  backends,
  flushExpired,
});
writeFileSync(REPORT, report);
log('');
log(report);
log(`written to docs/BENCHMARKS.md in ${durationS.toFixed(0)} s`);
