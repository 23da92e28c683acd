import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { SettingsError } from '../errors.ts';
import { generateKeyMaterial } from '../keys/generate.ts';
import type { Algorithm } from '../settings/settings.ts';
import { sqliteFilename } from '../store/open.ts';

export interface ResolvedKey {
  key: string;
  /** What happened, for the operator: undefined when the key came from the environment. */
  note: string | undefined;
}

/**
 * The signing key: `REVOCABLE_SIGNING_KEY` (or the file `REVOCABLE_SIGNING_KEY_FILE` names) when set;
 * otherwise the key file beside a SQLite database, created (mode 0600) on first use when `create` is
 * true: an HMAC secret, or for an asymmetric algorithm a PKCS #8 PEM private key. A random key that is
 * not saved is used for an in-memory database, or by commands that sign nothing.
 */
export function resolveSigningKey(
  configured: string | undefined,
  databaseUrl: string,
  create: boolean,
  algorithm: Algorithm = 'HS256',
): ResolvedKey {
  if (configured) return { key: configured, note: undefined };
  const database = sqliteFilename(databaseUrl);
  if (database === undefined && create) {
    // Instances sharing a database must share a key: a random one per instance would refuse the others' tokens.
    throw new SettingsError(
      'REVOCABLE_SIGNING_KEY',
      'is required with a shared database (every instance must sign with the same key); or set REVOCABLE_SIGNING_KEY_FILE',
    );
  }
  if (database === undefined || database === ':memory:') {
    return { key: newKey(algorithm), note: 'REVOCABLE_SIGNING_KEY is not set: using a random key that lasts until exit' };
  }
  const file = `${database}.key`;
  if (existsSync(file)) return { key: checkKind(readFileSync(file, 'utf8').trim(), algorithm, file), note: undefined };
  const key = newKey(algorithm);
  if (!create) return { key, note: undefined };
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  const what = isHmac(algorithm) ? 'a signing key' : `a private key for ${algorithm} (PEM)`;
  return { key, note: `REVOCABLE_SIGNING_KEY is not set: generated ${what} and saved it to ${file} (mode 0600)` };
}

function isHmac(algorithm: Algorithm): boolean {
  return algorithm.startsWith('HS');
}

/** An HMAC secret, or a PEM private key for an asymmetric algorithm. */
function newKey(algorithm: Algorithm): string {
  return isHmac(algorithm) ? randomBytes(48).toString('base64url') : generateKeyMaterial(algorithm).privateKey;
}

/**
 * A key file written for one kind of algorithm and read under the other (REVOCABLE_ALGORITHM changed)
 * is refused by name: a PEM text would otherwise pass for an HMAC secret.
 */
function checkKind(key: string, algorithm: Algorithm, file: string): string {
  const isPrivateKey = key.startsWith('-----BEGIN') || key.startsWith('{');
  if (isHmac(algorithm) && isPrivateKey) {
    throw new SettingsError('REVOCABLE_ALGORITHM', `is ${algorithm}, but ${file} holds a private key, not an HMAC secret`);
  }
  if (!isHmac(algorithm) && !isPrivateKey) {
    throw new SettingsError(
      'REVOCABLE_ALGORITHM',
      `is ${algorithm}, but ${file} holds an HMAC secret: set REVOCABLE_SIGNING_KEY or REVOCABLE_SIGNING_KEY_FILE`,
    );
  }
  return key;
}
