import { Kysely, PostgresDialect } from 'kysely';
import type { Pool, PoolConfig } from 'pg';
import { SqlStore } from './sql/sql-store.ts';
import type { Database } from './sql/schema.ts';
import { loadDriver } from './driver.ts';

const INT8_OID = 20;

/**
 * PostgreSQL through `pg`. Times are bigint milliseconds, read back as numbers (exact below 2^53).
 * Rotation and revocation rely on conditional writes and row locks, not on the isolation level: the
 * default READ COMMITTED is enough (see sql-store.ts).
 */
export async function openPostgresStore(connectionString: string, options: { logger?: Pick<Console, 'error'> } = {}) {
  const pg = await loadDriver<typeof import('pg')>('pg', 'PostgreSQL');
  const Pool = pg.default?.Pool ?? pg.Pool;
  const types = pg.default?.types ?? pg.types;
  const config: PoolConfig = {
    connectionString,
    max: 10,
    // Fail fast while the database is down, so requests answer 503 instead of hanging; notice a
    // connection that went silent; and keep every transaction short, so none holds a log number long.
    connectionTimeoutMillis: 3000,
    keepAlive: true,
    query_timeout: 15_000,
    statement_timeout: 10_000,
    lock_timeout: 5_000,
    idle_in_transaction_session_timeout: 15_000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (value: string) => Number(value) : types.getTypeParser(oid, format)) as never,
    },
  };
  const pool: Pool = new Pool(config);
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (error) => (options.logger ?? console).error('revocable: PostgreSQL connection lost', error.message));
  // A client checked out (inside a transaction, between two queries) when the server goes away emits
  // 'error' with no pool listener attached: unheard, that would crash the process. The transaction's
  // next query fails instead, and the request answers 503.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return new SqlStore(db, 'postgres', (error) => (error as { code?: string } | null)?.code === '23505');
}
