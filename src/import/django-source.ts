import type { ImportedUser } from '../store/imports.ts';
import { sqliteFilename } from '../store/open.ts';

/** Reading a Django + Simple JWT database, SQLite or PostgreSQL, read-only and in batches. */

/** A row of Django's user table (`auth_user`, or a custom user model's table with its columns): already what the store imports. */
export type DjangoUserRow = ImportedUser;

/** A row of `token_blacklist_outstandingtoken`, with its `token_blacklist_blacklistedtoken` row if any. */
export interface DjangoTokenRow {
  id: number;
  jti: string;
  /** Null when the user was deleted, or for a row `.blacklist()` created for a token it had not recorded. */
  userId: number | null;
  /** The raw token: read for its claims, never stored. */
  token: string;
  createdAtMs: number | null;
  expiresAtMs: number;
  blacklistedAtMs: number | null;
}

export interface DjangoSource {
  /** Whether Simple JWT's `token_blacklist` app is installed (its two tables exist). */
  readonly hasTokenTables: boolean;
  countUsers(): Promise<number>;
  /** Up to `limit` users with an id above `afterId` (every id when null), in id order. */
  readUsers(afterId: number | null, limit: number): Promise<DjangoUserRow[]>;
  countTokens(): Promise<number>;
  /** Up to `limit` outstanding tokens with an id above `afterId` (every id when null), in id order. */
  readTokens(afterId: number | null, limit: number): Promise<DjangoTokenRow[]>;
  close(): Promise<void>;
}

/** A Django database that cannot be opened or read as one: its message names what to fix. */
export class DjangoSourceError extends Error {}

export interface DjangoSourceOptions {
  /** The user table: `auth_user`, or a custom user model's (`accounts_user`, `schema.table` on PostgreSQL). */
  userTable?: string;
}

const OUTSTANDING = 'token_blacklist_outstandingtoken';
const BLACKLISTED = 'token_blacklist_blacklistedtoken';

/** A table name fit to quote: letters, digits and underscores, optionally schema-qualified. */
function quotedTable(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(name)) {
    throw new DjangoSourceError(`"${name}" is not a table name`);
  }
  return name
    .split('.')
    .map((part) => `"${part}"`)
    .join('.');
}

/** The statements both databases run; `$n` placeholders (rewritten to `?` for SQLite). */
function statements(userTable: string) {
  const users = quotedTable(userTable);
  const page = (after: boolean, column: string) => (after ? `where ${column} > $1 order by ${column} limit $2` : `order by ${column} limit $1`);
  return {
    countUsers: `select count(*) as count from ${users}`,
    users: (after: boolean) =>
      `select id, username, password, is_active, is_staff, date_joined, last_login from ${users} ${page(after, 'id')}`,
    countTokens: `select count(*) as count from ${OUTSTANDING}`,
    tokens: (after: boolean) =>
      `select o.id, o.jti, o.user_id, o.token, o.created_at, o.expires_at, b.blacklisted_at
       from ${OUTSTANDING} o left join ${BLACKLISTED} b on b.token_id = o.id ${page(after, 'o.id')}`,
  };
}

/**
 * Opens a Django database: `sqlite:/path/db.sqlite3` (or `sqlite:///…`, read-only) or
 * `postgres://user:password@host:port/db` (`?options=-c search_path=…` for another schema).
 */
export async function openDjangoSource(url: string, options: DjangoSourceOptions = {}): Promise<DjangoSource> {
  const userTable = options.userTable ?? 'auth_user';
  quotedTable(userTable);
  const file = sqliteFilename(url);
  if (file === ':memory:') throw new DjangoSourceError('an in-memory SQLite database holds no Django data: name a file');
  if (file !== undefined) return openSqlite(file, userTable);
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url, userTable);
  throw new DjangoSourceError(`unsupported Django database "${url.split(':')[0]}" (use sqlite:/path/db.sqlite3 or postgres://…)`);
}

const toNumber = (value: unknown): number => {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new DjangoSourceError(`unexpected id ${String(value)}`);
  return number;
};

/**
 * A datetime as Django stores it in SQLite: `YYYY-MM-DD HH:MM:SS[.ffffff]`, in UTC when `USE_TZ` is on
 * (Django's default), read as UTC whatever it was. PostgreSQL columns are `timestamp with time zone`.
 */
export function djangoTimeMs(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.getTime();
  const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(String(value).trim());
  if (!match) throw new DjangoSourceError(`unexpected datetime "${String(value)}"`);
  const [, y, mo, d, h, mi, s, fraction = '', zone = 'Z'] = match;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(fraction.padEnd(3, '0').slice(0, 3)));
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0')) * 60_000;
  }
  return ms;
}

function requiredTimeMs(value: unknown, what: string): number {
  const ms = djangoTimeMs(value);
  if (ms === null) throw new DjangoSourceError(`${what} is missing`);
  return ms;
}

// biome-ignore lint/suspicious/noExplicitAny: rows come from two drivers, checked field by field here
function userRow(row: any): DjangoUserRow {
  return {
    id: toNumber(row.id),
    username: String(row.username),
    password: String(row.password),
    isActive: Boolean(row.is_active),
    isStaff: Boolean(row.is_staff),
    dateJoinedMs: requiredTimeMs(row.date_joined, `date_joined of user ${row.id}`),
    lastLoginMs: djangoTimeMs(row.last_login),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: rows come from two drivers, checked field by field here
function tokenRow(row: any): DjangoTokenRow {
  return {
    id: toNumber(row.id),
    jti: String(row.jti),
    userId: row.user_id === null || row.user_id === undefined ? null : toNumber(row.user_id),
    token: String(row.token ?? ''),
    createdAtMs: djangoTimeMs(row.created_at),
    expiresAtMs: requiredTimeMs(row.expires_at, `expires_at of outstanding token ${row.id}`),
    blacklistedAtMs: djangoTimeMs(row.blacklisted_at),
  };
}

function missingUserTable(userTable: string, where: string): DjangoSourceError {
  return new DjangoSourceError(
    `no table ${userTable} in ${where}: not a Django database, or a custom user model (name its table with --user-table)`,
  );
}

async function openSqlite(file: string, userTable: string): Promise<DjangoSource> {
  const { default: Sqlite } = await import('better-sqlite3');
  let db: InstanceType<typeof Sqlite>;
  try {
    db = new Sqlite(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new DjangoSourceError(`cannot open ${file}: ${(error as Error).message}`);
  }
  const sql = statements(userTable);
  const exists = (table: string) => {
    const [schema, name] = table.includes('.') ? table.split('.') : ['main', table];
    return db.prepare(`select 1 from "${schema}".sqlite_master where type = 'table' and name = ?`).get(name) !== undefined;
  };
  if (!exists(userTable)) {
    db.close();
    throw missingUserTable(userTable, file);
  }
  const hasTokenTables = exists(OUTSTANDING) && exists(BLACKLISTED);
  const query = (text: string) => db.prepare(text.replace(/\$\d+/g, '?'));
  const page = (statement: (after: boolean) => string, afterId: number | null, limit: number) =>
    afterId === null ? query(statement(false)).all(limit) : query(statement(true)).all(afterId, limit);
  return {
    hasTokenTables,
    async countUsers() {
      return Number((query(sql.countUsers).get() as { count: number }).count);
    },
    async readUsers(afterId, limit) {
      return page(sql.users, afterId, limit).map(userRow);
    },
    async countTokens() {
      return hasTokenTables ? Number((query(sql.countTokens).get() as { count: number }).count) : 0;
    },
    async readTokens(afterId, limit) {
      return hasTokenTables ? page(sql.tokens, afterId, limit).map(tokenRow) : [];
    },
    async close() {
      db.close();
    },
  };
}

async function openPostgres(url: string, userTable: string): Promise<DjangoSource> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  // A connection lost between queries must fail the next query, not the process.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    throw new DjangoSourceError(`cannot connect to the Django database: ${(error as Error).message}`);
  }
  const sql = statements(userTable);
  const exists = async (table: string) =>
    (await client.query('select to_regclass($1) as found', [table])).rows[0]?.found !== null;
  try {
    if (!(await exists(userTable))) throw missingUserTable(userTable, 'the PostgreSQL database (on its search_path)');
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  const hasTokenTables = (await exists(OUTSTANDING)) && (await exists(BLACKLISTED));
  const page = async (statement: (after: boolean) => string, afterId: number | null, limit: number) =>
    (afterId === null
      ? await client.query(statement(false), [limit])
      : await client.query(statement(true), [afterId, limit])
    ).rows;
  return {
    hasTokenTables,
    async countUsers() {
      return Number((await client.query(sql.countUsers)).rows[0].count);
    },
    async readUsers(afterId, limit) {
      return (await page(sql.users, afterId, limit)).map(userRow);
    },
    async countTokens() {
      return hasTokenTables ? Number((await client.query(sql.countTokens)).rows[0].count) : 0;
    },
    async readTokens(afterId, limit) {
      return hasTokenTables ? (await page(sql.tokens, afterId, limit)).map(tokenRow) : [];
    },
    async close() {
      await client.end();
    },
  };
}
