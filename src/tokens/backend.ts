import { createSigner } from 'fast-jwt';
import type { Clock } from '../clock.ts';
import { SettingsError } from '../errors.ts';
import { thumbprint } from '../keys/jwk.ts';
import { type CompiledKey, KeyCompileError, KeyRing, type RingKey } from '../keys/ring.ts';
import type { Settings } from '../settings/settings.ts';
import { type Payload, type TokenDecoder, UnknownKeyIdError, createTokenDecoder } from './decoder.ts';

export type { Payload };

/** Signs payloads and decodes tokens with pinned algorithms (Simple JWT's `TokenBackend`, with a key ring). */
export interface TokenBackend extends TokenDecoder {
  /** Signs; `typ` is the header's type (`JWT` unless the token is an access token under `accessTokenTyp`). */
  sign(payload: Payload, typ?: string): string;
  /** The keys in use. */
  readonly ring: KeyRing;
  /** Swaps in another key set (after a rotation); each key is self-tested first. */
  useKeys(keys: readonly RingKey[]): void;
}

/**
 * The key the settings name. Asymmetric tokens carry its RFC 7638 thumbprint as `kid`; a lone HMAC key's
 * tokens keep Simple JWT's bare `{"alg":"HS256","typ":"JWT"}` header (CONTRACT.md).
 */
export function settingsKey(settings: Settings): RingKey {
  const isHmac = settings.algorithm.startsWith('HS');
  const verifyingKey = isHmac ? settings.signingKey : settings.verifyingKey;
  return {
    kid: isHmac ? undefined : keyed('verifyingKey', settings, () => thumbprint(verifyingKey)),
    algorithm: settings.algorithm,
    verifyingKey,
    signingKey: settings.signingKey,
    activatesAtMs: 0,
  };
}

export interface BackendOptions {
  /** The key set; by default the one key the settings name. */
  keys?: readonly RingKey[];
  /** Told when a token names a key this set does not hold (another instance may have rotated). */
  onUnknownKid?: (kid: string) => void;
}

/** Builds the decoder and the signers once per key set. */
export function createTokenBackend(settings: Settings, clock: Clock, options: BackendOptions = {}): TokenBackend {
  const { keys, onUnknownKid } = options;
  const constraints = { audience: settings.audience, issuer: settings.issuer };
  let ring = buildRing(keys ?? [settingsKey(settings)], keys === undefined);
  let signers = new Map<string, (payload: Payload) => string>();
  const decoder = createTokenDecoder({
    ring: () => ring,
    clock,
    leeway: settings.leeway,
    expectsAudience: settings.audience !== undefined,
  });

  /** `fromSettings`: failures name the setting; otherwise they name the key id. */
  function buildRing(ringKeys: readonly RingKey[], fromSettings: boolean): KeyRing {
    let built: KeyRing;
    try {
      built = new KeyRing(ringKeys, constraints);
    } catch (error) {
      // A stored key is named by its id, as the self-test below names it.
      const kid = error instanceof KeyCompileError ? error.key.kid : undefined;
      const name = fromSettings ? 'verifyingKey' : kid !== undefined ? `key ${kid}` : 'keys';
      throw new SettingsError(name, `does not fit: ${(error as Error).message}`);
    }
    for (const key of built.keys) {
      if (key.signingKey !== undefined) selfTest(key, () => signerFor(key, 'JWT'), fromSettings);
    }
    return built;
  }

  function signerFor(key: CompiledKey, typ: string): (payload: Payload) => string {
    return createSigner({
        key: key.signingKey as string,
        algorithm: key.algorithm,
        ...(key.kid !== undefined ? { kid: key.kid } : {}),
        ...(typ !== 'JWT' ? { header: { alg: key.algorithm, typ } } : {}),
        ...(settings.audience !== undefined ? { aud: settings.audience } : {}),
        ...(settings.issuer !== undefined ? { iss: settings.issuer } : {}),
      });
  }

  return {
    typOf: decoder.typOf,
    decode(token) {
      try {
        return decoder.decode(token);
      } catch (error) {
        if (onUnknownKid !== undefined && error instanceof UnknownKeyIdError) onUnknownKid(error.kid);
        throw error;
      }
    },
    get ring() {
      return ring;
    },
    sign(payload, typ) {
      const key = ring.signingKeyAt(clock());
      if (key === undefined) throw new SettingsError('signingKey', 'no key is active for signing');
      const headerTyp = typ !== undefined && typ === settings.accessTokenTyp ? typ : 'JWT';
      const cacheKey = `${key.kid ?? ''} ${headerTyp}`;
      let signer = signers.get(cacheKey);
      if (signer === undefined) {
        signer = signerFor(key, headerTyp);
        signers.set(cacheKey, signer);
      }
      return signer(payload);
    },
    useKeys(next) {
      ring = buildRing(next, false);
      signers = new Map();
    },
  };
}

/** Builds a signer or verifier; a key fast-jwt refuses for the algorithm becomes a SettingsError naming it. */
function keyed<T>(setting: 'signingKey' | 'verifyingKey', settings: Settings, build: () => T): T {
  try {
    return build();
  } catch (error) {
    throw new SettingsError(setting, `does not fit ${settings.algorithm}: ${(error as Error).message}`);
  }
}

/**
 * Signs and verifies one probe per signing key: a key of the wrong type for its algorithm (an RSA key
 * for ES256) or a public key that is not the private key's pair is refused when the key set is loaded,
 * naming the setting (or the key id), rather than failing every request later.
 */
function selfTest(key: CompiledKey, signer: () => (payload: Payload) => string, fromSettings: boolean): void {
  let probe: string;
  try {
    probe = signer()({ probe: true });
  } catch (error) {
    const name = fromSettings ? 'signingKey' : `key ${key.kid}`;
    throw new SettingsError(name, `cannot sign with ${key.algorithm}: ${(error as Error).message}`);
  }
  try {
    key.verify(probe);
  } catch {
    const name = fromSettings ? 'verifyingKey' : `key ${key.kid}`;
    throw new SettingsError(name, `does not verify what signingKey signs with ${key.algorithm}`);
  }
}
