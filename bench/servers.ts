import { randomBytes } from 'node:crypto';
import { Migrator, sql } from 'kysely';
import pg from 'pg';
import { migrationProvider } from '../src/store/sql/migrations.ts';
import type { SqlStore } from '../src/store/sql/sql-store.ts';
import { openStore } from '../src/store/open.ts';

/** The servers the multi-instance benchmarks use; override with BENCH_POSTGRES_URL / BENCH_REDIS_URL. */
export const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const PROBE_TIMEOUT_MS = 2000;

/** A server the run reached (and what it is), or why it could not. */
export type Probe = { reachable: true; url: string; description: string } | { reachable: false; url: string; reason: string };

/** `postgres://user:secret@host/db` → `postgres://user@host/db`: for messages and the report. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString().replace(/\?.*$/, '');
  } catch {
    return url.replace(/\?.*$/, '');
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length) return error.errors.map(reasonOf).join('; ');
  if (error instanceof Error) return error.message || (error as { code?: string }).code || error.name;
  return String(error);
}

/** Connects once to PostgreSQL: the server version and the settings that decide commit cost. */
export async function probePostgres(url = POSTGRES_URL): Promise<Probe> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  client.on('error', () => {});
  try {
    await client.connect();
    const show = async (name: string) => (await client.query(`show ${name}`)).rows[0]?.[name] as string;
    const version = await show('server_version');
    const description =
      `PostgreSQL ${version} (\`synchronous_commit = ${await show('synchronous_commit')}\`,` +
      ` \`fsync = ${await show('fsync')}\`, \`wal_sync_method = ${await show('wal_sync_method')}\`)`;
    return { reachable: true, url: redact(url), description };
  } catch (error) {
    return { reachable: false, url: redact(url), reason: reasonOf(error) };
  } finally {
    await client.end().catch(() => {});
  }
}

/** PING and INFO over a short-lived ioredis connection that neither retries nor queues. */
export async function probeRedis(url = REDIS_URL): Promise<Probe> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // ioredis rejects with "Connection is closed." once it gives up; the first error says why.
  let first: unknown;
  redis.on('error', (error) => {
    first ??= error;
  });
  try {
    await redis.connect();
    if ((await redis.ping()) !== 'PONG') throw new Error('PING was not answered PONG');
    const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown version';
    return { reachable: true, url: redact(url), description: `Redis ${version}` };
  } catch (error) {
    return { reachable: false, url: redact(url), reason: reasonOf(first ?? error) };
  } finally {
    redis.disconnect();
  }
}

/** `url` with a libpq `options` parameter (honoured by `pg`) that sets the schema search path. */
export function withSearchPath(url: string, schema: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/**
 * Runs `work` against a schema of its own (`bench_<random>`), created and migrated first and dropped
 * afterwards whatever happens, so a run leaves the database as it found it and never reads another
 * run's (or the tests') rows. `work` gets the URL that selects the schema.
 */
export async function withFreshSchema<T>(baseUrl: string, work: (url: string, schema: string) => Promise<T>): Promise<T> {
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query(statement);
    } finally {
      await client.end().catch(() => {});
    }
  };
  await admin(`create schema "${schema}"`);
  try {
    const url = withSearchPath(baseUrl, schema);
    await migrateSchema(url, schema);
    return await work(url, schema);
  } finally {
    await admin(`drop schema if exists "${schema}" cascade`);
  }
}

/**
 * Applies the migrations in `schema`, naming it for Kysely's bookkeeping tables. `createAuth`'s own
 * migration cannot be used here: Kysely's Migrator, with no schema given, decides whether
 * `kysely_migration` exists by looking at every schema of the database, so a `public.kysely_migration`
 * (left by anything run on the base URL) makes it skip creating its tables in the search-path schema and
 * then fail to read them. Benchmarks therefore open their instances with `migrate: false`.
 */
async function migrateSchema(url: string, schema: string): Promise<void> {
  const store = (await openStore(url)) as SqlStore;
  try {
    // `pg` passes the URL's `options` to the server; make sure it did, or the run would use `public`.
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(store.db);
    if (rows[0]?.schema !== schema) throw new Error(`the search path was not applied (current schema ${rows[0]?.schema})`);
    const migrator = new Migrator({ db: store.db, provider: migrationProvider('postgres'), migrationTableSchema: schema });
    const { error } = await migrator.migrateToLatest();
    if (error) throw error;
  } finally {
    await store.close();
  }
}
