import { createPublicKey } from 'node:crypto';
import { KeyRing, type RingKey, type VerifyConstraints } from '../keys/ring.ts';
import { thumbprint } from '../keys/jwk.ts';
import { type Algorithm, keyFitsAlgorithm } from '../settings/settings.ts';

export interface JwksClientOptions {
  url: string;
  /** Only keys of this algorithm are used (the allow-list); HMAC never comes from a JWK Set. */
  algorithm: Algorithm;
  constraints: VerifyConstraints;
  /** A token naming an unknown `kid` refetches the set at most once per this long (default 30 s). */
  cooldownMs: number;
  /** The set is refetched in the background this often (default 10 min), so retired keys leave. */
  refreshIntervalMs: number;
  /** A fetch that takes longer is abandoned (default 5 s). */
  timeoutMs: number;
  logger: Pick<Console, 'error' | 'warn'>;
}

/** The JWK Set (RFC 7517 §5) of an auth server, fetched once and cached: unknown kids refetch it, within a cooldown. */
export interface JwksClient {
  readonly ring: KeyRing;
  /** How many fetches were made, start-up and periodic ones included (the cooldown's visible effect). */
  readonly fetches: number;
  /** Fetches the set now; throws when it cannot be read. */
  refresh(): Promise<void>;
  /**
   * A token named `kid`, which the cached set lacks: refetches unless one was made within the cooldown
   * (concurrent callers share one fetch). True when the set now holds it.
   */
  lookUp(kid: string): Promise<boolean>;
  close(): void;
}

/** A JWKS larger than this is not a key set. */
const MAX_JWKS_BYTES = 256 * 1024;

export function createJwksClient(options: JwksClientOptions): JwksClient {
  let ring = new KeyRing([], options.constraints);
  let fetches = 0;
  /** Only refetches for an unknown kid count against the cooldown; start-up and periodic fetches do not. */
  let lastRefetchAt = Number.NEGATIVE_INFINITY;
  let fetching: Promise<void> | undefined;

  const fetchOnce = async () => {
    fetches++;
    const response = await fetch(options.url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs),
      redirect: 'error',
    });
    if (!response.ok) throw new Error(`GET ${options.url} answered ${response.status}`);
    const text = await response.text();
    if (text.length > MAX_JWKS_BYTES) throw new Error(`GET ${options.url}: the key set is larger than ${MAX_JWKS_BYTES} bytes`);
    ring = new KeyRing(parseJwks(JSON.parse(text), options.algorithm), options.constraints);
  };
  const refresh = () => {
    fetching ??= fetchOnce().finally(() => {
      fetching = undefined;
    });
    return fetching;
  };
  const timer = setInterval(
    () => refresh().catch((error) => options.logger.warn(`revocable: refreshing the JWKS failed: ${(error as Error).message}`)),
    options.refreshIntervalMs,
  );
  timer.unref();

  return {
    get ring() {
      return ring;
    },
    get fetches() {
      return fetches;
    },
    refresh,
    async lookUp(kid) {
      if (fetching === undefined) {
        if (performance.now() - lastRefetchAt < options.cooldownMs) return false;
        lastRefetchAt = performance.now();
      }
      try {
        await refresh();
      } catch (error) {
        options.logger.warn(`revocable: fetching the JWKS failed: ${(error as Error).message}`);
      }
      return ring.keys.some((key) => key.kid === kid);
    },
    close() {
      clearInterval(timer);
    },
  };
}

/**
 * The usable keys of a JWK Set: public signature keys of the allowed algorithm. A key with private
 * members or a symmetric (`oct`) key is skipped: a set that publishes one is misconfigured, and trusting
 * it would let anyone who read the set sign tokens.
 */
export function parseJwks(document: unknown, algorithm: Algorithm): RingKey[] {
  const keys = (document as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new Error('the JWKS has no "keys" array');
  const usable: RingKey[] = [];
  for (const jwk of keys) {
    if (jwk === null || typeof jwk !== 'object') continue;
    const { kty, alg, use, d, kid } = jwk as Record<string, unknown>;
    if (kty === 'oct' || d !== undefined) continue;
    if (use !== undefined && use !== 'sig') continue;
    if (alg !== undefined && alg !== algorithm) continue;
    try {
      const publicKey = createPublicKey({ key: jwk as never, format: 'jwk' });
      if (!keyFitsAlgorithm(publicKey, algorithm)) continue;
      const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
      usable.push({ kid: typeof kid === 'string' ? kid : thumbprint(publicKey), algorithm, verifyingKey: pem });
    } catch {
      // A key node:crypto cannot read is not one we can verify with.
    }
  }
  return usable;
}
