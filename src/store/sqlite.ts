import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely } from 'kysely';
import type { RefreshOutcome, UserRecord } from './records.ts';
import { ConnectionSqliteDialect, SqliteConnection } from './sqlite-driver.ts';
import { SqliteRefresher } from './sqlite-refresh.ts';
import { toUser } from './sql/rows.ts';
import { SqlStore } from './sql/sql-store.ts';
import type { Database } from './sql/schema.ts';
import type { RefreshRequest } from './store.ts';

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
  return new SqliteStore(new SqliteConnection(database));
}

/**
 * The SQL store on SQLite, with fast paths for the refresh hot path: `useRefreshToken` runs as prepared
 * statements with group commit (sqlite-refresh.ts), and the user look-up every refresh makes skips
 * query building. Everything else is the shared Kysely code, over the same connection.
 */
class SqliteStore extends SqlStore {
  private readonly connection: SqliteConnection;
  private readonly refresher: SqliteRefresher;

  constructor(connection: SqliteConnection) {
    super(new Kysely<Database>({ dialect: new ConnectionSqliteDialect(connection) }), 'sqlite', (error) => {
      const code = (error as { code?: string } | null)?.code ?? '';
      return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
    });
    this.connection = connection;
    this.refresher = new SqliteRefresher(connection);
  }

  override useRefreshToken(request: RefreshRequest): Promise<RefreshOutcome> {
    return this.refresher.useRefreshToken(request);
  }

  override async findUserById(id: number): Promise<UserRecord | undefined> {
    if (!Number.isSafeInteger(id)) return undefined;
    return this.readUser('select * from users where id = ?', id);
  }

  override findUserByUsername(username: string): Promise<UserRecord | undefined> {
    return this.readUser('select * from users where username = ?', username);
  }

  override async close(): Promise<void> {
    await this.refresher.drain();
    await super.close();
  }

  /** A one-row read through the connection lock: never inside another caller's open transaction. */
  private async readUser(sql: string, key: number | string): Promise<UserRecord | undefined> {
    if (!this.connection.tryLock()) await this.connection.lock();
    try {
      const row = this.connection.statement(sql).get(key) as Parameters<typeof toUser>[0] | undefined;
      return row && toUser(row);
    } finally {
      this.connection.unlock();
    }
  }
}
