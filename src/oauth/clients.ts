import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Store } from '../store/store.ts';

/** A client as created: the secret is shown this once and stored only as a hash. */
export interface NewClient {
  clientId: string;
  clientSecret: string;
  name: string;
}

/** OAuth clients of introspection and revocation: `auth.clients`. */
export interface Clients {
  /** Registers a client; its secret is returned once and never stored. */
  create(name: string): Promise<NewClient>;
  /** Whether the credentials are a registered client's (constant-time in the secret). */
  authenticate(clientId: string, clientSecret: string): Promise<boolean>;
}

/** Client secrets are 256 random bits: a plain SHA-256 of them cannot be brute-forced, unlike a password. */
const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

export function createClients(store: Store, clock: Clock): Clients {
  const decoy = hashSecret(randomBytes(32).toString('base64url'));
  return {
    async create(name) {
      const clientId = randomBytes(12).toString('base64url');
      const clientSecret = randomBytes(32).toString('base64url');
      await store.createClient({ clientId, secretHash: hashSecret(clientSecret), name, createdAtMs: clock() });
      return { clientId, clientSecret, name };
    },
    async authenticate(clientId, clientSecret) {
      // No client id holds U+0000 (they are base64url), and PostgreSQL cannot even compare text with one.
      const client = clientId && !clientId.includes('\0') ? await store.findClient(clientId) : undefined;
      const expected = Buffer.from(client?.secretHash ?? decoy, 'hex');
      const actual = Buffer.from(hashSecret(clientSecret), 'hex');
      return timingSafeEqual(expected, actual) && client !== undefined;
    },
  };
}
