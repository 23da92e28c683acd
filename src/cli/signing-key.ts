import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { SettingsError } from '../errors.ts';
import { sqliteFilename } from '../store/open.ts';

export interface ResolvedKey {
  key: string;
  /** What happened, for the operator: undefined when the key came from the environment. */
  note: string | undefined;
}

/**
 * The signing key: `REVOCABLE_SIGNING_KEY` when set; otherwise the key file beside a SQLite database,
 * created (mode 0600) on first use when `create` is true. A random key that is not saved is used for an
 * in-memory database, or by commands that sign nothing.
 */
export function resolveSigningKey(configured: string | undefined, databaseUrl: string, create: boolean): ResolvedKey {
  if (configured) return { key: configured, note: undefined };
  const database = sqliteFilename(databaseUrl);
  if (database === undefined && create) {
    // Instances sharing a database must share a key: a random one per instance would refuse the others' tokens.
    throw new SettingsError('REVOCABLE_SIGNING_KEY', 'is required with a shared database (every instance must sign with the same key)');
  }
  if (database === undefined || database === ':memory:') {
    return { key: randomKey(), note: 'REVOCABLE_SIGNING_KEY is not set: using a random key that lasts until exit' };
  }
  const file = `${database}.key`;
  if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), note: undefined };
  const key = randomKey();
  if (!create) return { key, note: undefined };
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { key, note: `REVOCABLE_SIGNING_KEY is not set: generated a signing key and saved it to ${file} (mode 0600)` };
}

function randomKey(): string {
  return randomBytes(48).toString('base64url');
}
