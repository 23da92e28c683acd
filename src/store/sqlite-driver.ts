import type BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  SqliteDialect,
  SqliteDriver,
} from 'kysely';

/** Prepared statements kept per SQL text; past this many distinct texts the cache starts over. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * The one better-sqlite3 connection of a SQLite store, shared by Kysely and by the store's own
 * synchronous fast paths (sqlite-refresh.ts).
 *
 * - **Prepared once**: statements are cached by their SQL text, so neither Kysely's queries nor the
 *   fast paths pay `prepare` per call (Kysely's own SQLite driver prepares every query anew).
 * - **One user at a time**: Kysely holds the connection for a whole transaction, across awaits; a
 *   fast path takes the same lock, so its statements never run inside someone else's open transaction.
 *   Waiters are served first come, first served.
 */
export class SqliteConnection {
  readonly database: BetterSqlite3.Database;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  private locked = false;
  private readonly waiters: (() => void)[] = [];

  constructor(database: BetterSqlite3.Database) {
    this.database = database;
  }

  /** The prepared statement for `sql`, prepared on first use. */
  statement(sql: string): BetterSqlite3.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.database.prepare(sql);
      if (this.statements.size >= STATEMENT_CACHE_SIZE) this.statements.clear();
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Takes the connection when it is free, without waiting: true when taken. */
  tryLock(): boolean {
    if (this.locked) return false;
    this.locked = true;
    return true;
  }

  /** Takes the connection, waiting for whoever holds it. */
  lock(): Promise<void> {
    if (this.tryLock()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Hands the connection to the next waiter, or frees it. */
  unlock(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.locked = false;
  }
}

/** Kysely's view of the connection: queries run through the statement cache. */
class CachingConnection implements DatabaseConnection {
  private readonly connection: SqliteConnection;

  constructor(connection: SqliteConnection) {
    this.connection = connection;
  }

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const statement = this.connection.statement(compiledQuery.sql);
    const parameters = compiledQuery.parameters as unknown[];
    if (statement.reader) return Promise.resolve({ rows: statement.all(parameters) as R[] });
    const { changes, lastInsertRowid } = statement.run(parameters);
    return Promise.resolve({
      numAffectedRows: BigInt(changes),
      insertId: BigInt(lastInsertRowid),
      rows: [],
    });
  }

  /** Streams a select through a statement of its own: an iterating statement cannot serve other calls meanwhile. */
  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const statement = this.connection.database.prepare(compiledQuery.sql);
    for (const row of statement.iterate(compiledQuery.parameters as unknown[])) yield { rows: [row as R] };
  }
}

/**
 * Every transaction here reads, then writes. With a plain (deferred) BEGIN, a write committed by another
 * process on the same file between the two makes SQLite fail at once with SQLITE_BUSY_SNAPSHOT;
 * BEGIN IMMEDIATE takes the write lock up front, so the busy timeout applies and the two queue.
 */
class ConnectionDriver extends SqliteDriver {
  private readonly connection: SqliteConnection;
  private readonly kyselyConnection: CachingConnection;

  constructor(connection: SqliteConnection) {
    super({ database: connection.database });
    this.connection = connection;
    this.kyselyConnection = new CachingConnection(connection);
  }

  override async init(): Promise<void> {}

  override async acquireConnection(): Promise<DatabaseConnection> {
    await this.connection.lock();
    return this.kyselyConnection;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  override async releaseConnection(): Promise<void> {
    this.connection.unlock();
  }

  override async destroy(): Promise<void> {
    this.connection.database.close();
  }
}

/** SQLite through one {@link SqliteConnection}. */
export class ConnectionSqliteDialect extends SqliteDialect {
  private readonly connection: SqliteConnection;

  constructor(connection: SqliteConnection) {
    super({ database: connection.database });
    this.connection = connection;
  }

  override createDriver(): Driver {
    return new ConnectionDriver(this.connection);
  }
}
