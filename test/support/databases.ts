import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers.ts';

/**
 * The databases the store conformance suite runs against.
 *
 * Environment:
 * - `REVOCABLE_TEST_STORES`: comma list of stores to run (default `sqlite,pglite,postgres,mariadb`).
 * - `REVOCABLE_REQUIRE_STORES=1`: a selected server that cannot be reached fails the run instead of
 *   being skipped (CI sets it, so a missing server is never mistaken for a pass).
 * - `REVOCABLE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`) and
 *   `REVOCABLE_TEST_MARIADB_URL` (default `mysql://root@127.0.0.1:3306/test`): where the servers are.
 *
 * Isolation: SQLite gets a temporary file, PGlite an in-memory instance, PostgreSQL a schema of its own
 * (selected with `?options=-c search_path=…`, dropped at the end) and MariaDB a database of its own
 * (`test_<random>`, dropped at the end).
 */

export const TEST_STORE_NAMES = ['sqlite', 'pglite', 'postgres', 'mariadb'] as const;
export type TestStoreName = (typeof TEST_STORE_NAMES)[number];

export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const DEFAULT_MARIADB_URL = 'mysql://root@127.0.0.1:3306/test';

/** How long a reachability probe waits for a server. */
const PROBE_TIMEOUT_MS = 1500;

/** One isolated database (a file, a schema, a database) of a kind, with its connections. */
export interface TestDatabase {
  readonly name: TestStoreName;
  /** Where it lives, for messages (a file, `host:port/db#schema`). */
  readonly location: string;
  /**
   * Opens a new, independent connection (pool) to this database, not migrated: a restart, or another
   * instance. `close()` on what it returns is idempotent. PGlite in memory can be opened only once.
   */
  open(): Promise<Store>;
  /** Closes what `open` opened and is still open, then drops the schema / database / file. */
  dispose(): Promise<void>;
}

/** A kind of database, probed for reachability once per test file. */
export interface TestDatabaseKind {
  readonly name: TestStoreName;
  /** Where its server is (or `in process`). */
  readonly location: string;
  readonly reachable: boolean;
  /** Why it is not reachable. */
  readonly problem?: string;
  /** Whether `create` is cheap enough to call more than once per file (PGlite takes seconds). */
  readonly cheapToCreate: boolean;
  /** Whether a database's `open` can be called again after the first store is closed, and find the same data. */
  readonly canReopen: boolean;
  /**
   * Whether two stores opened on one database can run transactions concurrently in this process. Not
   * SQLite: better-sqlite3 waits for a lock synchronously, blocking the event loop that would release
   * it (two processes on one file are fine). Not PGlite: one instance, one connection.
   */
  readonly concurrentHandles: boolean;
  /** Creates a fresh isolated database of this kind. */
  create(): Promise<TestDatabase>;
}

export interface TestDatabaseSelection {
  kinds: TestDatabaseKind[];
  /** `REVOCABLE_REQUIRE_STORES=1`: an unreachable selected store fails the run. */
  required: boolean;
}

type Env = Record<string, string | undefined>;

/**
 * Reads the selection from the environment, probes the servers, and prints (loudly) every selected
 * server that is not reachable.
 */
export async function selectTestDatabases(env: Env = process.env): Promise<TestDatabaseSelection> {
  const names = parseStoreNames(env.REVOCABLE_TEST_STORES);
  const required = env.REVOCABLE_REQUIRE_STORES === '1';
  const kinds = await Promise.all(
    names.map(async (name): Promise<TestDatabaseKind> => {
      if (name === 'sqlite') return sqliteKind();
      if (name === 'pglite') return pgliteKind();
      if (name === 'postgres') return postgresKind(env.REVOCABLE_TEST_POSTGRES_URL || DEFAULT_POSTGRES_URL);
      return mariadbKind(env.REVOCABLE_TEST_MARIADB_URL || DEFAULT_MARIADB_URL);
    }),
  );
  for (const kind of kinds) {
    if (kind.reachable) continue;
    const outcome = required ? 'REVOCABLE_REQUIRE_STORES=1, so the run FAILS' : 'skipped';
    announce(`store conformance: ${kind.name} NOT REACHABLE at ${kind.location} (${kind.problem}) — ${outcome}`);
  }
  return { kinds, required };
}

/** Parses `REVOCABLE_TEST_STORES`; an unknown name is an error, not a silent no-op. */
export function parseStoreNames(value: string | undefined): TestStoreName[] {
  if (value === undefined || value.trim() === '') return [...TEST_STORE_NAMES];
  const names = value
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  for (const name of names) {
    if (!(TEST_STORE_NAMES as readonly string[]).includes(name)) {
      throw new Error(`REVOCABLE_TEST_STORES: unknown store "${name}" (known: ${TEST_STORE_NAMES.join(', ')})`);
    }
  }
  return [...new Set(names)] as TestStoreName[];
}

/** Prints a line that must not be missed: to stderr, outside any test's captured output. */
export function announce(line: string): void {
  process.stderr.write(`\n${line}\n`);
}

/** A store whose `close()` runs once, however often it is called. */
function closeOnce(store: Store, onClose?: () => void): Store & { readonly closed: boolean } {
  let closing: Promise<void> | undefined;
  return new Proxy(store as Store & { readonly closed: boolean }, {
    get(target, property, receiver) {
      if (property === 'closed') return closing !== undefined;
      if (property === 'close') {
        return () => {
          if (!closing) {
            closing = target.close();
            onClose?.();
          }
          return closing;
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Keeps the stores a database opened, to close the ones left open at dispose time. */
function connections() {
  const open = new Set<Store & { readonly closed: boolean }>();
  return {
    track(store: Store): Store {
      const tracked = closeOnce(store, () => open.delete(tracked));
      open.add(tracked);
      return tracked;
    },
    async closeAll(): Promise<void> {
      await Promise.all([...open].map((store) => store.close()));
    },
  };
}

const randomSuffix = () => randomBytes(6).toString('hex');

/** Runs a reachability probe; a probe that used up its time says so, whatever the driver's message. */
async function probe(work: () => Promise<unknown>): Promise<string | undefined> {
  const started = Date.now();
  try {
    await work();
    return undefined;
  } catch (error) {
    const message = describeError(error);
    return Date.now() - started >= PROBE_TIMEOUT_MS - 50 ? `no answer within ${PROBE_TIMEOUT_MS} ms: ${message}` : message;
  }
}

function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0]);
  if (error instanceof Error) return error.message || (error as { code?: string }).code || error.name;
  return String(error);
}

function hostOf(url: string, defaultPort: number): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || defaultPort}`;
  } catch {
    return url;
  }
}

function sqliteKind(): TestDatabaseKind {
  return {
    name: 'sqlite',
    location: 'a temporary file',
    reachable: true,
    cheapToCreate: true,
    canReopen: true,
    concurrentHandles: false,
    async create() {
      const dir = tempDir();
      const file = join(dir.path, 'conformance.db');
      const opened = connections();
      return {
        name: 'sqlite',
        location: file,
        open: async () => opened.track(await openStore(`sqlite:${file}`)),
        async dispose() {
          await opened.closeAll();
          dir.remove();
        },
      };
    },
  };
}

function pgliteKind(): TestDatabaseKind {
  return {
    name: 'pglite',
    location: 'in process',
    reachable: true,
    cheapToCreate: false,
    canReopen: false,
    concurrentHandles: false,
    async create() {
      const opened = connections();
      let used = false;
      return {
        name: 'pglite',
        location: 'pglite:memory',
        async open() {
          if (used) throw new Error('PGlite in memory is one instance: it can be opened only once');
          used = true;
          return opened.track(await openStore('pglite:memory'));
        },
        dispose: () => opened.closeAll(),
      };
    },
  };
}

/** `url` with a libpq `options` parameter that sets the schema search path. */
export function withSearchPath(url: string, schema: string): string {
  const options = encodeURIComponent(`-c search_path=${schema}`);
  return `${url}${url.includes('?') ? '&' : '?'}options=${options}`;
}

async function postgresKind(baseUrl: string): Promise<TestDatabaseKind> {
  const location = hostOf(baseUrl, 5432);
  const pg = (await import('pg')).default;
  const admin = async <T>(work: (client: InstanceType<typeof pg.Client>) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
    // A connection failing after connect must not become an uncaught 'error' event.
    client.on('error', () => {});
    try {
      await client.connect();
      return await work(client);
    } finally {
      await client.end().catch(() => {});
    }
  };
  const problem = await probe(() => admin((client) => client.query('select 1')));
  return {
    name: 'postgres',
    location,
    reachable: problem === undefined,
    ...(problem !== undefined ? { problem } : {}),
    cheapToCreate: true,
    canReopen: true,
    concurrentHandles: true,
    async create() {
      const schema = `revocable_test_${randomSuffix()}`;
      await admin((client) => client.query(`create schema "${schema}"`));
      const url = withSearchPath(baseUrl, schema);
      const opened = connections();
      return {
        name: 'postgres',
        location: `${location}#${schema}`,
        open: async () => opened.track(await openStore(url, { logger: { error: () => {} } })),
        async dispose() {
          await opened.closeAll();
          await admin((client) => client.query(`drop schema if exists "${schema}" cascade`));
        },
      };
    },
  };
}

async function mariadbKind(baseUrl: string): Promise<TestDatabaseKind> {
  const location = hostOf(baseUrl, 3306);
  const mysql = (await import('mysql2/promise')).default;
  const admin = async <T>(work: (connection: Awaited<ReturnType<typeof mysql.createConnection>>) => Promise<T>) => {
    const connection = await mysql.createConnection({
      uri: baseUrl.replace(/^mariadb:/, 'mysql:'),
      connectTimeout: PROBE_TIMEOUT_MS,
    });
    connection.on('error', () => {});
    try {
      return await work(connection);
    } finally {
      await connection.end().catch(() => {});
    }
  };
  const problem = await probe(() => admin((connection) => connection.query('select 1')));
  return {
    name: 'mariadb',
    location,
    reachable: problem === undefined,
    ...(problem !== undefined ? { problem } : {}),
    cheapToCreate: true,
    canReopen: true,
    concurrentHandles: true,
    async create() {
      const database = `test_${randomSuffix()}`;
      await admin((connection) => connection.query(`create database \`${database}\``));
      const url = new URL(baseUrl);
      url.pathname = `/${database}`;
      const opened = connections();
      return {
        name: 'mariadb',
        location: `${location}/${database}`,
        open: async () => opened.track(await openStore(url.toString())),
        async dispose() {
          await opened.closeAll();
          await admin((connection) => connection.query(`drop database if exists \`${database}\``));
        },
      };
    },
  };
}
