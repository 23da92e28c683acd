import { type ChildProcess, fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Auth } from '../src/auth.ts';
import { openBenchAuth } from './fixtures.ts';
import type { FromPeer, ToPeer } from './propagation-peer.ts';
import { POSTGRES_URL, type Probe, REDIS_URL, withFreshSchema } from './servers.ts';
import { ms, percentile } from './stats.ts';

export interface PropagationPlan {
  name: string;
  bus: 'redis' | 'postgres' | undefined;
  /** `revocationPollInterval` of both instances (seconds). */
  pollIntervalS: number;
  /** Measured revocations (after {@link WARMUP_PER_WORKER} unmeasured ones per worker). */
  revocations: number;
  /** Revocations under way at once on A, each on its own user (a revoke-all would kill the others' tokens). */
  inFlight: number;
  /** Once B watches the token, A waits a random time in [0, this) before revoking (ms). */
  delayMaxMs: number;
}

/** The bound each configuration is held to: 50 ms with a bus, the poll interval without. */
export const BUS_TARGET_MS = 50;
export const targetMs = (plan: PropagationPlan) => (plan.bus ? BUS_TARGET_MS : plan.pollIntervalS * 1000);

/**
 * With a bus, one revocation at a time after a short random pause. Without one, the latency is set by
 * where the revocation falls in B's poll period, so the pause is drawn uniformly over a whole period
 * (every phase equally likely), and four revocations overlap to keep the run short: each waits for the
 * next poll, which reads them all.
 */
export const PROPAGATION_PLANS: PropagationPlan[] = [
  { name: 'Redis pub/sub', bus: 'redis', pollIntervalS: 0.25, revocations: 300, inFlight: 1, delayMaxMs: 10 },
  { name: 'PostgreSQL LISTEN/NOTIFY', bus: 'postgres', pollIntervalS: 0.25, revocations: 300, inFlight: 1, delayMaxMs: 10 },
  { name: 'no bus, poll every 250 ms', bus: undefined, pollIntervalS: 0.25, revocations: 200, inFlight: 4, delayMaxMs: 250 },
  { name: 'no bus, poll every 50 ms', bus: undefined, pollIntervalS: 0.05, revocations: 200, inFlight: 4, delayMaxMs: 50 },
];

const WARMUP_PER_WORKER = 3;
const PINGS = 41;

export interface PropagationRun {
  /** B's first refusing check − A's acknowledgement (ms, clock offset removed), in completion order. */
  latency: number[];
  kinds: ('user' | 'session')[];
  /** The revocation as A's caller waits for it: `await revokeAllForUser` / `await revokeSession` (ms). */
  ack: number[];
  /** Mean time between two checks of a watched token on B (ms): the resolution of `latency`. */
  checkIntervalMs: number;
  /** B's clock minus A's, from the IPC ping with the shortest round trip, and that round trip (ms). */
  clock: { offsetMs: number; rttMs: number };
  /** Warnings either instance logged (a bus falling back to the poll would show here). */
  warnings: string[];
  /** B's revocation-log reads during the measured revocations: how long they took, how far apart they started. */
  reads: { count: number; medianMs: number; maxMs: number; longestGapMs: number };
}

export type PropagationOutcome =
  | { status: 'measured'; plan: PropagationPlan; run: PropagationRun }
  | { status: 'skipped'; plan: PropagationPlan; reason: string }
  | { status: 'failed'; plan: PropagationPlan; error: string };

const now = () => performance.timeOrigin + performance.now();

/**
 * Revocation propagation between two instances on one PostgreSQL database: A (this process) revokes,
 * B (a child process, bench/propagation-peer.ts) checks the token in a tight loop. Every configuration
 * runs in a schema of its own. A configuration whose server is unreachable is skipped, with the reason.
 */
export async function benchPropagation(
  servers: { postgres: Probe; redis: Probe },
  log: (line: string) => void,
): Promise<PropagationOutcome[]> {
  const outcomes: PropagationOutcome[] = [];
  for (const plan of PROPAGATION_PLANS) {
    const unreachable = !servers.postgres.reachable
      ? { name: 'PostgreSQL', probe: servers.postgres }
      : plan.bus === 'redis' && !servers.redis.reachable
        ? { name: 'Redis', probe: servers.redis }
        : undefined;
    if (unreachable) {
      const reason = `${unreachable.name} unreachable at ${unreachable.probe.url}`;
      log(`  ${plan.name}: SKIPPED, ${reason}`);
      outcomes.push({ status: 'skipped', plan, reason });
      continue;
    }
    try {
      const run = await withFreshSchema(POSTGRES_URL, (url) => runPlan(plan, url));
      const [p50, p99] = [percentile(run.latency, 50), percentile(run.latency, 99)];
      log(
        `  ${plan.name}: p50 ${ms(p50)}, p99 ${ms(p99)}, max ${ms(Math.max(...run.latency))} over ${run.latency.length}` +
          ` revocations (B checks every ${ms(run.checkIntervalMs)}; clock offset ${ms(run.clock.offsetMs)})`,
      );
      for (const warning of run.warnings) log(`    warning: ${warning}`);
      outcomes.push({ status: 'measured', plan, run });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`  FAILED: ${plan.name}`, error);
      outcomes.push({ status: 'failed', plan, error: message });
    }
  }
  return outcomes;
}

async function runPlan(plan: PropagationPlan, url: string): Promise<PropagationRun> {
  const bus = plan.bus === 'redis' ? REDIS_URL : plan.bus === 'postgres' ? url : undefined;
  const settings = { revocationPollInterval: plan.pollIntervalS };
  const warnings: string[] = [];
  const a = await openBenchAuth(url, { settings, migrate: false, warnings, ...(bus ? { bus } : {}) });
  const peer = startPeer();
  try {
    await peer.request({ type: 'open', database: url, pollIntervalS: plan.pollIntervalS, ...(bus ? { bus } : {}) }, 'ready', 30_000);
    const clock = await measureClock(peer);
    const run: PropagationRun = {
      latency: [],
      kinds: [],
      ack: [],
      checkIntervalMs: 0,
      clock,
      warnings,
      reads: { count: 0, medianMs: Number.NaN, maxMs: Number.NaN, longestGapMs: Number.NaN },
    };
    let measuring = Number.POSITIVE_INFINITY;
    let checks = 0;
    let watchedMs = 0;
    const timeoutMs = 2000 + 10 * plan.pollIntervalS * 1000;
    let nextId = 0;
    let measured = 0;

    const worker = async (w: number) => {
      const user = await a.users.create({ username: `propagation-${w}`, password: 'bench-password' });
      for (let k = 0; ; k++) {
        const warm = k < WARMUP_PER_WORKER;
        if (!warm && measured++ >= plan.revocations) return;
        if (!warm) measuring = Math.min(measuring, now() + clock.offsetMs);
        const kind = k % 2 === 0 ? 'user' : 'session';
        const { access } = await a.issueTokens(user);
        const id = nextId++;
        await peer.request({ type: 'watch', id, token: access }, 'armed', timeoutMs, id);
        await sleep(Math.random() * plan.delayMaxMs);
        const t0 = now();
        await revoke(a, kind, user.id, access);
        const acknowledged = now();
        const rejected = await peer.waitFor('rejected', id, timeoutMs);
        if (rejected.type !== 'rejected') throw new Error(`B answered ${rejected.type}`);
        if (!warm) {
          run.latency.push(rejected.t - clock.offsetMs - acknowledged);
          run.kinds.push(kind);
          run.ack.push(acknowledged - t0);
          checks += rejected.checks;
          watchedMs += rejected.watchedMs;
        }
        await a.settled();
      }
    };
    await Promise.all(Array.from({ length: plan.inFlight }, (_, w) => worker(w)));
    const measuredUntil = now() + clock.offsetMs;
    run.checkIntervalMs = watchedMs / checks;
    const closed = await peer.close();
    warnings.push(...closed.warnings.map((warning) => `B: ${warning}`));
    run.reads = summariseReads(closed.reads.filter((read) => read.start >= measuring && read.start <= measuredUntil));
    return run;
  } finally {
    peer.kill();
    await a.close();
  }
}

function summariseReads(reads: { start: number; end: number }[]): PropagationRun['reads'] {
  const durations = reads.map((read) => read.end - read.start);
  let longestGapMs = 0;
  for (let i = 1; i < reads.length; i++) longestGapMs = Math.max(longestGapMs, reads[i]!.start - reads[i - 1]!.start);
  return { count: reads.length, medianMs: percentile(durations, 50), maxMs: Math.max(...durations), longestGapMs };
}

async function revoke(a: Auth, kind: 'user' | 'session', userId: number, access: string): Promise<void> {
  if (kind === 'user') {
    await a.revokeAllForUser(userId);
    return;
  }
  const payload = JSON.parse(Buffer.from(access.split('.')[1] ?? '', 'base64url').toString('utf8'));
  const sessionId = payload[a.settings.sessionIdClaim];
  if (!(await a.revokeSession(String(sessionId)))) throw new Error(`session ${sessionId} was not live`);
}

/** NTP-style: B's clock − A's midpoint, from the ping with the shortest round trip. */
async function measureClock(peer: Peer): Promise<PropagationRun['clock']> {
  let best = { offsetMs: 0, rttMs: Number.POSITIVE_INFINITY };
  for (let id = 0; id < PINGS; id++) {
    const t0 = now();
    const pong = await peer.request({ type: 'ping', id }, 'pong', 5000, id);
    const t1 = now();
    if (pong.type === 'pong' && t1 - t0 < best.rttMs) best = { offsetMs: pong.t - (t0 + t1) / 2, rttMs: t1 - t0 };
  }
  return best;
}

interface Peer {
  /** Sends `message` and waits for B's answer of type `type` (and `id`). */
  request(message: ToPeer, type: FromPeer['type'], timeoutMs: number, id?: number): Promise<FromPeer>;
  waitFor(type: FromPeer['type'], id: number | undefined, timeoutMs: number): Promise<FromPeer>;
  /** Asks B to close its Auth; returns its warnings and its log reads. */
  close(): Promise<{ warnings: string[]; reads: { start: number; end: number }[] }>;
  /** Ends B if it is still running. */
  kill(): void;
}

/** Forks B (with this process's flags, so tsx loads the TypeScript) and routes its answers. */
function startPeer(): Peer {
  const child: ChildProcess = fork(new URL('./propagation-peer.ts', import.meta.url), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const keyOf = (type: string, id: number | undefined) => `${type}:${id ?? ''}`;
  const arrived = new Map<string, FromPeer>();
  const waiting = new Map<string, { resolve(message: FromPeer): void; reject(error: Error): void }>();
  let gone: Error | undefined;
  const failAll = (error: Error) => {
    for (const waiter of waiting.values()) waiter.reject(error);
    waiting.clear();
  };
  child.on('message', (message: FromPeer) => {
    if (message.type === 'error') {
      const error = new Error(`B: ${message.message}`);
      if (message.id === undefined) return failAll(error);
      for (const [key, waiter] of waiting) {
        if (key.endsWith(`:${message.id}`)) {
          waiting.delete(key);
          waiter.reject(error);
        }
      }
      return;
    }
    const key = keyOf(message.type, 'id' in message ? message.id : undefined);
    const waiter = waiting.get(key);
    if (waiter) {
      waiting.delete(key);
      waiter.resolve(message);
    } else {
      arrived.set(key, message);
    }
  });
  child.on('exit', (code, signal) => {
    gone = new Error(`B exited (${signal ?? `code ${code}`})`);
    failAll(gone);
  });
  child.on('error', (error) => failAll(error));

  const waitFor: Peer['waitFor'] = (type, id, timeoutMs) => {
    const key = keyOf(type, id);
    const early = arrived.get(key);
    if (early) {
      arrived.delete(key);
      return Promise.resolve(early);
    }
    if (gone) return Promise.reject(gone);
    return new Promise<FromPeer>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(key);
        reject(new Error(`no "${type}" from B for ${id ?? 'its request'} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(key, {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  };
  return {
    waitFor,
    request(message, type, timeoutMs, id) {
      const answer = waitFor(type, id, timeoutMs);
      child.send(message);
      return answer;
    },
    async close() {
      const closed = await waitForClose(this, child);
      return closed.type === 'closed' ? closed : { warnings: [], reads: [] };
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}

async function waitForClose(peer: Peer, child: ChildProcess): Promise<FromPeer> {
  const closed = await peer.request({ type: 'close' }, 'closed', 10_000);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.disconnect();
  await Promise.race([exited, sleep(3000)]);
  return closed;
}
