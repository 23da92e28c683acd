import type { Clock } from './clock.ts';
import type { EventHub } from './events.ts';
import type { RevocationCache } from './revocation/cache.ts';
import type { Settings } from './settings/settings.ts';
import type { RevocationEntry } from './store/records.ts';
import type { Store } from './store/store.ts';
import type { TokenBackend } from './tokens/backend.ts';
import type { PasswordHasher } from './users/passwords.ts';

/** Where a request came from; recorded on the session it starts when the settings say so. */
export interface RequestContext {
  userAgent?: string | undefined;
  ip?: string | undefined;
}

/** The state one Auth instance shares between its parts (tokens, revocation, sessions, users). */
export interface Core {
  readonly settings: Settings;
  readonly clock: Clock;
  readonly store: Store;
  readonly cache: RevocationCache;
  readonly backend: TokenBackend;
  readonly hasher: PasswordHasher;
  readonly events: EventHub;
  readonly logger: Pick<Console, 'error' | 'warn'>;
  /** How long a revocation must be remembered: the longest token lifetime plus leeway, in ms. */
  readonly horizonMs: number;
  /** Runs bookkeeping that must not delay the answer; failures are logged, `settled()` waits for it. */
  runInBackground(task: () => Promise<unknown>): void;
  /** Makes revocations this process just committed effective here, and sends them to the other instances. */
  applyRevocations(entries: RevocationEntry[]): void;
}
