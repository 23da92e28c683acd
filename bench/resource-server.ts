import { type KeyObject, generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ResourceServer, TokenRevokedError, createResourceServer } from '../src/index.ts';
import type { SettingsInput, VerifierSettingsInput } from '../src/settings/settings.ts';
import { BENCH_KEY, benchAuth } from './fixtures.ts';
import { createRawEd25519Verifier } from './raw-ed25519.ts';
import { createRawHs256Verifier } from './raw-hmac.ts';
import { type Throughput, compareThroughput, pairedRatio } from './throughput.ts';
import { type VerifyResult, fillRevocationCache } from './verify.ts';

export interface ResourceServerAlgorithmResult {
  algorithm: 'HS256' | 'EdDSA';
  /** Live revocation entries in the log the resource server follows, by level. */
  cache: VerifyResult['cache'];
  verifySync: Throughput;
  verifyAccess: Throughput;
  raw: Throughput;
  /** Paired per round: verifySync / raw, auth.verifyAccess / raw, verifySync / auth.verifyAccess. */
  verifySyncOverRaw: number;
  verifyAccessOverRaw: number;
  verifySyncOverVerifyAccess: number;
  /** How long the resource server took to refuse a token after its user's revoke-all was acknowledged (ms). */
  revocationSeenMs: number;
}

export interface ResourceServerResult {
  algorithms: ResourceServerAlgorithmResult[];
  rounds: number;
  sliceMs: number;
  warmupMs: number;
}

const ROUNDS = 10;
const SLICE_MS = 150;
const WARMUP_MS = 300;
/** The resource server polls the log every 250 ms by default; past this its revocation state is broken. */
const REVOCATION_DEADLINE_MS = 5_000;

interface AlgorithmSetup {
  algorithm: ResourceServerAlgorithmResult['algorithm'];
  /** The auth server's settings. */
  auth: Partial<SettingsInput>;
  /** The resource server's: the shared secret, or the public key only. */
  resource: VerifierSettingsInput;
  raw: (token: string) => Record<string, unknown>;
}

function setups(): AlgorithmSetup[] {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = (key: KeyObject, type: 'pkcs8' | 'spki') => key.export({ format: 'pem', type }).toString();
  const verifyingKey = pem(publicKey, 'spki');
  return [
    {
      algorithm: 'HS256',
      auth: {},
      resource: { signingKey: BENCH_KEY },
      raw: createRawHs256Verifier(BENCH_KEY),
    },
    {
      algorithm: 'EdDSA',
      auth: { algorithm: 'EdDSA', signingKey: pem(privateKey, 'pkcs8'), verifyingKey },
      resource: { algorithm: 'EdDSA', verifyingKey },
      raw: createRawEd25519Verifier(publicKey),
    },
  ];
}

/**
 * A resource server's hot path, `verifySync`: signature, Simple JWT's claim checks and revocation from
 * memory, for HS256 (shared secret) and EdDSA (public key only). It follows the auth server's revocation
 * log (`revocations: { database: auth.store }`) holding thousands of entries, as in section 2, and the
 * token's own user has a past revoke-all, so every level of the predicate is looked up. Beside it, in the
 * same interleaved rounds on the same token: the auth server's own `auth.verifyAccess` and the raw
 * `node:crypto` floor for the algorithm.
 */
export async function benchResourceServer(log: (line: string) => void): Promise<ResourceServerResult> {
  const algorithms: ResourceServerAlgorithmResult[] = [];
  for (const setup of setups()) algorithms.push(await benchAlgorithm(setup, log));
  return { algorithms, rounds: ROUNDS, sliceMs: SLICE_MS, warmupMs: WARMUP_MS };
}

async function benchAlgorithm(setup: AlgorithmSetup, log: (line: string) => void): Promise<ResourceServerAlgorithmResult> {
  const auth = await benchAuth(':memory:', setup.auth);
  let resource: ResourceServer | undefined;
  try {
    const { cache, revoked } = await fillRevocationCache(auth);
    const user = await auth.users.create({ username: 'resource-user', password: 'bench-password' });
    const before = await auth.issueTokens(user);

    // Started after the fill: it loads the log as a freshly started resource server would.
    resource = await createResourceServer({
      settings: setup.resource,
      revocations: { database: auth.store },
      logger: { error: (...args: unknown[]) => console.error(...args), warn: () => {} },
    });
    const rs = resource;
    for (const token of revoked) expectRevoked(rs, token);
    if (rs.verifySync(before.access).user_id !== user.id) throw new Error('the resource server returned the wrong claims');

    // A revocation made after it started reaches it through the log it follows.
    const revokedAt = performance.now();
    await auth.revokeAllForUser(user.id);
    await auth.settled();
    const revocationSeenMs = await waitUntilRefused(rs, before.access, revokedAt);

    const { access } = await auth.issueTokens(user);
    for (const verify of [rs.verifySync, auth.verifyAccess, setup.raw] as const) {
      const claims = verify(access) as Record<string, unknown>;
      if (claims.user_id !== user.id) throw new Error('a verifier returned the wrong claims');
    }

    const [verifySync, verifyAccess, raw] = compareThroughput(
      [
        { name: `resource.verifySync (${setup.algorithm})`, op: () => rs.verifySync(access) },
        { name: `auth.verifyAccess (${setup.algorithm})`, op: () => auth.verifyAccess(access) },
        { name: `raw node:crypto ${setup.algorithm === 'HS256' ? 'HS256' : 'Ed25519'}`, op: () => setup.raw(access) },
      ],
      { warmupMs: WARMUP_MS, rounds: ROUNDS, sliceMs: SLICE_MS },
    );
    const result: ResourceServerAlgorithmResult = {
      algorithm: setup.algorithm,
      cache,
      verifySync: verifySync!,
      verifyAccess: verifyAccess!,
      raw: raw!,
      verifySyncOverRaw: pairedRatio(verifySync!, raw!),
      verifyAccessOverRaw: pairedRatio(verifyAccess!, raw!),
      verifySyncOverVerifyAccess: pairedRatio(verifySync!, verifyAccess!),
      revocationSeenMs,
    };
    log(
      `  ${setup.algorithm}: resource verifySync ${Math.round(result.verifySync.median)} ops/s,` +
        ` auth.verifyAccess ${Math.round(result.verifyAccess.median)} ops/s, raw ${Math.round(result.raw.median)} ops/s;` +
        ` verifySync/raw ${result.verifySyncOverRaw.toFixed(2)}, revocation seen after ${revocationSeenMs.toFixed(0)} ms`,
    );
    return result;
  } finally {
    await resource?.close();
    await auth.close();
  }
}

function expectRevoked(rs: ResourceServer, token: string): void {
  try {
    rs.verifySync(token);
  } catch (error) {
    if (error instanceof TokenRevokedError) return;
    throw error;
  }
  throw new Error('the resource server accepted a revoked access token');
}

async function waitUntilRefused(rs: ResourceServer, token: string, since: number): Promise<number> {
  for (;;) {
    try {
      rs.verifySync(token);
    } catch (error) {
      if (error instanceof TokenRevokedError) return performance.now() - since;
      throw error;
    }
    if (performance.now() - since > REVOCATION_DEADLINE_MS) {
      throw new Error(`the resource server still accepted a token ${REVOCATION_DEADLINE_MS} ms after its user's revoke-all`);
    }
    await sleep(5);
  }
}
