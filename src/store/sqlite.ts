import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CompiledQuery, type DatabaseConnection, type Driver, Kysely, SqliteDialect, SqliteDriver } from 'kysely';
import { SqlStore } from './sql/sql-store.ts';
import type { Database } from './sql/schema.ts';

/**
 * Opens (creating when missing) a SQLite database with better-sqlite3.
 * WAL lets readers run beside the writer; `synchronous = FULL` makes every commit reach the disk
 * before it returns, so an acknowledged revocation survives a crash, not only a restart.
 */
export async function openSqliteStore(filename: string): Promise<SqlStore> {
  let BetterSqlite3: typeof import('better-sqlite3');
  try {
    BetterSqlite3 = (await import('better-sqlite3')).default;
  } catch {
    throw new Error('SQLite needs the "better-sqlite3" package: npm install better-sqlite3@12');
  }
  if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
  const database = new BetterSqlite3(filename);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database }) });
  return new SqlStore(db, 'sqlite', (error) => {
    const code = (error as { code?: string } | null)?.code ?? '';
    return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  });
}

/**
 * Every transaction here reads, then writes. With a plain (deferred) BEGIN, a write committed by another
 * process on the same file between the two makes SQLite fail at once with SQLITE_BUSY_SNAPSHOT;
 * BEGIN IMMEDIATE takes the write lock up front, so the busy timeout applies and the two queue.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  private readonly config: ConstructorParameters<typeof SqliteDialect>[0];
  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config);
    this.config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.config);
  }
}
