import { resolve } from 'node:path';
import { SettingsError } from '../errors.ts';
import { openSqliteStore } from './sqlite.ts';
import type { Store } from './store.ts';

/** The database used when none is named. */
export const DEFAULT_DATABASE_URL = 'sqlite:./revocable.db';

/**
 * Opens a store from a URL: `sqlite:./file.db`, `sqlite:///absolute/file.db`, `sqlite::memory:`
 * (or `:memory:`); `postgres://…` / `postgresql://…` (driver `pg`); `mysql://…` / `mariadb://…`
 * (driver `mysql2`); `pglite:memory` or `pglite:./dir` (PostgreSQL in process, for tests and trials).
 */
export async function openStore(url: string, options: { logger?: Pick<Console, 'error'> } = {}): Promise<Store> {
  const filename = sqliteFilename(url);
  if (filename !== undefined) return openSqliteStore(filename);
  if (/^postgres(ql)?:\/\//.test(url)) return (await import('./postgres.ts')).openPostgresStore(url, options);
  if (/^(mysql|mariadb):\/\//.test(url)) return (await import('./mysql.ts')).openMysqlStore(url);
  if (url === 'pglite:memory' || url === 'pglite:') return (await import('./pglite.ts')).openPgliteStore();
  if (url.startsWith('pglite:')) return (await import('./pglite.ts')).openPgliteStore(resolve(url.slice('pglite:'.length)));
  const scheme = url.split(':')[0] ?? '';
  throw new SettingsError(
    'DATABASE_URL',
    `unsupported database "${scheme}" (use sqlite:./file.db, postgres://…, mysql://… or pglite:memory)`,
  );
}

/** The file a `sqlite:` URL names, `:memory:` for an in-memory database, undefined for other URLs. */
export function sqliteFilename(url: string): string | undefined {
  if (url === ':memory:' || url === 'sqlite::memory:' || url === 'sqlite://:memory:') return ':memory:';
  if (url.startsWith('sqlite://')) return resolve(url.slice('sqlite://'.length) || '.');
  if (url.startsWith('sqlite:')) return resolve(url.slice('sqlite:'.length));
  return undefined;
}
