import { randomBytes } from 'node:crypto';
import { SettingsError } from '../errors.ts';
import { ALGORITHMS, type Algorithm } from '../settings/settings.ts';
import type { SigningKeyRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { generateKeyMaterial } from './generate.ts';
import { thumbprint } from './jwk.ts';
import type { RingKey } from './ring.ts';

/** How often every instance rereads the managed keys (and at once when a token names an unknown one). */
export const KEY_RELOAD_INTERVAL_MS = 30_000;
/**
 * How long after `keys rotate` the new key starts signing: every instance has loaded it (and a resource
 * server refetching the JWKS on an unknown kid finds it) before the first token it signs exists.
 */
export const DEFAULT_ACTIVATION_DELAY_MS = 2 * KEY_RELOAD_INTERVAL_MS;

/** Where a managed key stands at a time. */
export type KeyState = 'standby' | 'pending' | 'active' | 'retiring' | 'expired';

export function keyState(key: SigningKeyRecord, all: readonly SigningKeyRecord[], nowMs: number): KeyState {
  if (key.verifyUntilMs !== null && nowMs >= key.verifyUntilMs) return 'expired';
  if (key.activatesAtMs === null) return 'standby';
  if (key.activatesAtMs > nowMs) return 'pending';
  const newer = all.some(
    (other) => other.activatesAtMs !== null && other.activatesAtMs <= nowMs && other.activatesAtMs > (key.activatesAtMs as number),
  );
  return newer ? 'retiring' : 'active';
}

/** A stored key as a ring key. */
export function toRingKey(record: SigningKeyRecord): RingKey {
  const algorithm = record.algorithm as Algorithm;
  if (!ALGORITHMS.includes(algorithm)) throw new SettingsError(`key ${record.kid}`, `unknown algorithm ${record.algorithm}`);
  return {
    kid: record.kid,
    algorithm,
    verifyingKey: record.publicKey ?? record.privateKey,
    signingKey: record.privateKey,
    activatesAtMs: record.activatesAtMs ?? undefined,
    verifyUntilMs: record.verifyUntilMs ?? undefined,
  };
}

/**
 * The keys an instance uses: the stored ones still verifying; and, until the first rotation has
 * activated a stored key, the configured one first (it still signs).
 */
export function managedRing(records: readonly SigningKeyRecord[], configured: RingKey, nowMs: number): RingKey[] | undefined {
  const live = records.filter((record) => record.verifyUntilMs === null || nowMs < record.verifyUntilMs);
  if (live.length === 0) return undefined;
  const keys = live.map((record) => {
    const key = toRingKey(record);
    // The configured HMAC key, stored by the first rotation, keeps Simple JWT's bare header: an instance
    // that has not reread the keys yet (and a Simple JWT peer) knows it by no kid.
    const isConfigured =
      configured.kid === undefined && record.algorithm === configured.algorithm && record.privateKey === configured.signingKey;
    return isConfigured ? { ...key, kid: undefined } : key;
  });
  return live.some((record) => record.activatesAtMs !== null) ? keys : [configured, ...keys];
}

/** A new key's id: the RFC 7638 thumbprint of a public key; random for a secret, which must not leak. */
function kidFor(algorithm: Algorithm, publicKey: string | undefined): string {
  return publicKey !== undefined && !algorithm.startsWith('HS') ? thumbprint(publicKey) : randomBytes(16).toString('base64url');
}

/** `revocable keys generate`: a standby key, published in the JWKS and verifying, not signing yet. */
export async function generateStandbyKey(store: Store, algorithm: Algorithm, nowMs: number): Promise<SigningKeyRecord> {
  const material = generateKeyMaterial(algorithm);
  const record: SigningKeyRecord = {
    kid: kidFor(algorithm, material.publicKey),
    algorithm,
    privateKey: material.privateKey,
    publicKey: material.publicKey ?? null,
    createdAtMs: nowMs,
    activatesAtMs: null,
    verifyUntilMs: null,
  };
  await store.addSigningKey(record);
  return record;
}

export interface RotateOptions {
  /** The algorithm of a key generated when no standby key waits. */
  algorithm: Algorithm;
  /** The key configured by settings; stored on the first rotation so the tokens it signed keep verifying. */
  configured: RingKey;
  nowMs: number;
  /** The longest token lifetime plus leeway, in ms: how long a retired key must keep verifying. */
  horizonMs: number;
  delayMs?: number;
}

export interface Rotation {
  activated: SigningKeyRecord;
  activatesAtMs: number;
  /** When the keys it replaces stop verifying. */
  retiredVerifyUntilMs: number;
}

/**
 * `revocable keys rotate`: the oldest standby key (a new one if none waits) signs from `now + delay`;
 * the keys signing until then verify until that moment plus the horizon, so no token they signed is
 * refused before it expires.
 */
export async function rotateKeys(store: Store, options: RotateOptions): Promise<Rotation> {
  const { nowMs, configured } = options;
  let records = await store.listSigningKeys();
  if (!records.some((record) => record.activatesAtMs !== null)) {
    await store.addSigningKey({
      kid: configured.kid ?? randomBytes(16).toString('base64url'),
      algorithm: configured.algorithm,
      privateKey: configured.signingKey as string,
      publicKey: configured.algorithm.startsWith('HS') ? null : configured.verifyingKey,
      createdAtMs: nowMs,
      // It has signed all along (as the settings key does, from 0): never after the key replacing it, even
      // with no delay, nor in the future of an instance whose clock lags this one's.
      activatesAtMs: 0,
      verifyUntilMs: null,
    });
    records = await store.listSigningKeys();
  }
  const standby =
    records.find((record) => record.activatesAtMs === null && (record.verifyUntilMs === null || record.verifyUntilMs > nowMs)) ??
    (await generateStandbyKey(store, options.algorithm, nowMs));
  const activatesAtMs = nowMs + (options.delayMs ?? DEFAULT_ACTIVATION_DELAY_MS);
  const retiredVerifyUntilMs = activatesAtMs + options.horizonMs + KEY_RELOAD_INTERVAL_MS;
  if (!(await store.activateSigningKey(standby.kid, activatesAtMs, retiredVerifyUntilMs))) {
    throw new SettingsError(`key ${standby.kid}`, 'was activated by another rotation meanwhile; run `keys list`');
  }
  return { activated: { ...standby, activatesAtMs }, activatesAtMs, retiredVerifyUntilMs };
}
