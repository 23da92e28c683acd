import { resolve } from 'node:path';
import { SettingsError } from '../errors.ts';
import { openSqliteStore } from './sqlite.ts';
import type { Store } from './store.ts';

/** The database used when none is named. */
export const DEFAULT_DATABASE_URL = 'sqlite:./revocable.db';

/**
 * Opens a store from a URL: `sqlite:./file.db`, `sqlite:///absolute/file.db`, `sqlite::memory:`
 * (or `:memory:`).
 */
export async function openStore(url: string): Promise<Store> {
  const filename = sqliteFilename(url);
  if (filename !== undefined) return openSqliteStore(filename);
  const scheme = url.split(':')[0] ?? '';
  throw new SettingsError('DATABASE_URL', `unsupported database "${scheme}" (use sqlite:./file.db)`);
}

/** The file a `sqlite:` URL names, `:memory:` for an in-memory database, undefined for other URLs. */
export function sqliteFilename(url: string): string | undefined {
  if (url === ':memory:' || url === 'sqlite::memory:' || url === 'sqlite://:memory:') return ':memory:';
  if (url.startsWith('sqlite://')) return resolve(url.slice('sqlite://'.length) || '.');
  if (url.startsWith('sqlite:')) return resolve(url.slice('sqlite:'.length));
  return undefined;
}
