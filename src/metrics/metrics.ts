import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock } from '../clock.ts';
import type { EventHub } from '../events.ts';
import type { RevocationCache } from '../revocation/cache.ts';
import type { RemoteSource } from '../revocation/sync.ts';
import type { RevocationEntry } from '../store/records.ts';

/**
 * Why a request was refused, the `reason` label of `revocable_auth_failures_total`: a small fixed set
 * (docs/api.md#metrics says what each covers).
 */
export const AUTH_FAILURE_REASONS = [
  'bad_credentials',
  'throttled',
  'not_authenticated',
  'bad_header',
  'token_invalid',
  'token_revoked',
  'user_not_found',
  'user_inactive',
  'client_invalid',
] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/** Buckets of `revocable_revocation_propagation_seconds`: 1 ms to 10 s. */
export const PROPAGATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One instance's Prometheus metrics (docs/api.md#metrics). */
export interface Metrics {
  /** This instance's registry: its own metrics only, not the process ones (see {@link Metrics.scrape}). */
  readonly registry: Registry;
  /** Counts a refused request by reason; the HTTP routes call it (failed logins are counted from the events). */
  authFailure(reason: AuthFailureReason): void;
  /** Records how long entries committed by another process took to arrive here. */
  observeRemoteEntries(entries: RevocationEntry[], source: RemoteSource): void;
  /**
   * The exposition text (Prometheus text format): this instance's metrics, then, with `process` (the
   * default), the process's own (`process_*` and `nodejs_*`, prom-client's default metrics).
   */
  scrape(options?: { process?: boolean }): Promise<{ contentType: string; text: string }>;
}

export interface MetricsSource {
  events: Pick<EventHub, 'on'>;
  cache: Pick<RevocationCache, 'size'>;
  clock: Clock;
  /** Whether the instance refuses tokens for want of a fresh revocation state. */
  isStale?: () => boolean;
}

/**
 * The process metrics, shared by every instance of the process (they describe the process, and
 * prom-client's collectors start observers that are never stopped): made on the first scrape.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Creates one instance's registry, and counts the events of `source.events` into it. */
export function createMetrics(source: MetricsSource): Metrics {
  const { events, cache, clock } = source;
  const registry = new Registry();
  const registers = [registry];

  const issued = new Counter({
    name: 'revocable_tokens_issued_total',
    help: 'Logins that issued tokens, by kind: a refresh and access pair, or a sliding token.',
    labelNames: ['type'] as const,
    registers,
  });
  const refreshed = new Counter({
    name: 'revocable_tokens_refreshed_total',
    help: 'Refresh or sliding tokens exchanged for new tokens.',
    labelNames: ['type'] as const,
    registers,
  });
  const revocations = new Counter({
    name: 'revocable_revocations_total',
    help: 'Revocations committed by this instance, by level: one token, one session, every token of a user.',
    labelNames: ['level'] as const,
    registers,
  });
  const failures = new Counter({
    name: 'revocable_auth_failures_total',
    help: 'Refused credentials (401 and 429 answers, and failed logins), by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const reuse = new Counter({
    name: 'revocable_refresh_reuse_detected_total',
    help: 'Already-rotated refresh tokens presented again (each revoked its session).',
    registers,
  });
  new Gauge({
    name: 'revocable_revocation_cache_entries',
    help: 'Entries in the in-memory revocation cache, by level.',
    labelNames: ['level'] as const,
    registers,
    collect() {
      const size = cache.size;
      this.set({ level: 'token' }, size.tokens);
      this.set({ level: 'session' }, size.sessions);
      this.set({ level: 'user' }, size.users);
    },
  });
  if (source.isStale) {
    const isStale = source.isStale;
    new Gauge({
      name: 'revocable_revocation_state_stale',
      help: '1 while this instance refuses tokens because it cannot confirm its revocation state, else 0.',
      registers,
      collect() {
        this.set(isStale() ? 1 : 0);
      },
    });
  }
  const propagation = new Histogram({
    name: 'revocable_revocation_propagation_seconds',
    help: 'Time from the commit of a revocation on another instance to its arrival here, by path (bus or log).',
    labelNames: ['source'] as const,
    buckets: PROPAGATION_BUCKETS,
    registers,
  });

  // Every series exists from the start, at 0, so rates and alerts see the first increment.
  for (const type of ['pair', 'sliding']) issued.inc({ type }, 0);
  for (const type of ['refresh', 'sliding']) refreshed.inc({ type }, 0);
  for (const level of ['token', 'session', 'user']) revocations.inc({ level }, 0);
  for (const reason of AUTH_FAILURE_REASONS) failures.inc({ reason }, 0);
  reuse.inc(0);

  events.on('tokenObtained', (event) => issued.inc({ type: event.tokenType }));
  events.on('tokenRefreshed', (event) => refreshed.inc({ type: event.tokenType }));
  events.on('tokenBlacklisted', () => revocations.inc({ level: 'token' }));
  events.on('sessionRevoked', () => revocations.inc({ level: 'session' }));
  events.on('userTokensRevoked', () => revocations.inc({ level: 'user' }));
  events.on('refreshReuseDetected', () => reuse.inc());
  events.on('loginFailed', () => failures.inc({ reason: 'bad_credentials' }));

  return {
    registry,
    authFailure: (reason) => failures.inc({ reason }),
    observeRemoteEntries(entries, from) {
      const nowMs = clock();
      // Clocks of two hosts disagree a little: an entry "from the future" arrived at once.
      for (const entry of entries) propagation.observe({ source: from }, Math.max(0, nowMs - entry.atMs) / 1000);
    },
    async scrape(options = {}) {
      let text = await registry.metrics();
      if (options.process !== false) text += `\n${await processMetrics().metrics()}`;
      return { contentType: registry.contentType, text };
    },
  };
}
