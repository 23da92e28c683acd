import type { Clock } from '../clock.ts';
import type { Algorithm, Settings } from '../settings/settings.ts';
import type { Store } from '../store/store.ts';
import { type TokenBackend, settingsKey } from '../tokens/backend.ts';
import type { PublicJwk } from './jwk.ts';
import {
  KEY_RELOAD_INTERVAL_MS,
  type KeyState,
  type Rotation,
  generateStandbyKey,
  keyState,
  managedRing,
  rotateKeys,
} from './managed.ts';

/** A managed key as `keys list` shows it: never its private part. */
export interface KeyInfo {
  kid: string;
  algorithm: string;
  state: KeyState;
  createdAtMs: number;
  activatesAtMs: number | null;
  verifyUntilMs: number | null;
}

/** Signing keys: the JWKS, and the rotation `revocable keys` drives. */
export interface Keys {
  /** RFC 7517 JWK Set of the public keys tokens may be verified with (empty for HMAC). */
  jwks(): { keys: PublicJwk[] };
  list(): Promise<KeyInfo[]>;
  /** Adds a standby key: published and verifying now, signing from the next rotation. */
  generate(algorithm?: Algorithm): Promise<KeyInfo>;
  /** Schedules the next key to sign after `delayMs` (default 60 s); the current one keeps verifying. */
  rotate(options?: { algorithm?: Algorithm; delayMs?: number }): Promise<Rotation>;
  /** Rereads the stored keys now (it happens every 30 s, and soon after a token names an unknown key). */
  reload(): Promise<void>;
}

/** Unknown key ids trigger at most one reread per this long: made-up kids cannot flood the database. */
const UNKNOWN_KID_COOLDOWN_MS = 5_000;

export interface KeyManagerOptions {
  store: Store;
  backend: TokenBackend;
  settings: Settings;
  clock: Clock;
  horizonMs: number;
  logger: Pick<Console, 'error'>;
}

export function createKeyManager(options: KeyManagerOptions) {
  const { store, backend, settings, clock, horizonMs, logger } = options;
  const configured = settingsKey(settings);
  let lastUnknownKidReloadAt = Number.NEGATIVE_INFINITY;
  let reloading: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const reload = async () => {
    const ring = managedRing(await store.listSigningKeys(), configured, clock());
    backend.useKeys(ring ?? [configured]);
  };
  const reloadInBackground = () => {
    if (reloading) return;
    reloading = reload()
      .catch((error) => logger.error('revocable: reloading the signing keys failed', error))
      .finally(() => {
        reloading = undefined;
      });
  };
  const info = async (): Promise<KeyInfo[]> => {
    const records = await store.listSigningKeys();
    const nowMs = clock();
    return records.map((record) => ({
      kid: record.kid,
      algorithm: record.algorithm,
      state: keyState(record, records, nowMs),
      createdAtMs: record.createdAtMs,
      activatesAtMs: record.activatesAtMs,
      verifyUntilMs: record.verifyUntilMs,
    }));
  };

  const keys: Keys = {
    jwks: () => ({ keys: backend.ring.publicJwks(clock()) }),
    list: info,
    async generate(algorithm) {
      const record = await generateStandbyKey(store, algorithm ?? settings.algorithm, clock());
      await reload();
      return (await info()).find((key) => key.kid === record.kid) as KeyInfo;
    },
    async rotate(rotateOptions = {}) {
      const rotation = await rotateKeys(store, {
        algorithm: rotateOptions.algorithm ?? settings.algorithm,
        configured,
        nowMs: clock(),
        horizonMs,
        ...(rotateOptions.delayMs !== undefined ? { delayMs: rotateOptions.delayMs } : {}),
      });
      await reload();
      return rotation;
    },
    reload,
  };

  return {
    keys,
    /** Loads the stored keys before the first token is signed, then rereads them on a timer. */
    async start() {
      await reload();
      timer = setInterval(reloadInBackground, KEY_RELOAD_INTERVAL_MS);
      timer.unref();
    },
    /**
     * A token named a key this process does not hold: reread now, unless a reread is under way or an
     * unknown kid caused one less than a cooldown ago. The timer's rereads do not count: a key stored
     * just after one of them must not wait for the next.
     */
    unknownKid() {
      const now = performance.now();
      if (reloading !== undefined || now - lastUnknownKidReloadAt < UNKNOWN_KID_COOLDOWN_MS) return;
      lastUnknownKidReloadAt = now;
      reloadInBackground();
    },
    async close() {
      clearInterval(timer);
      await reloading;
    },
  };
}
