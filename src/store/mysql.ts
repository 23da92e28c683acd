import { Kysely, MysqlDialect } from 'kysely';
import { SqlStore } from './sql/sql-store.ts';
import type { Database } from './sql/schema.ts';
import { loadDriver } from './driver.ts';

/**
 * MySQL / MariaDB through `mysql2` (InnoDB). Rotation and revocation rely on conditional writes and row
 * locks (`SELECT … FOR UPDATE` in the login guard); transactions run at READ COMMITTED (see
 * `SqlStore.transaction`), so a re-read after a lost conditional write sees the winner.
 */
export async function openMysqlStore(uri: string) {
  const mysql = await loadDriver<typeof import('mysql2') & { default?: typeof import('mysql2') }>('mysql2', 'MySQL');
  const createPool = mysql.default?.createPool ?? mysql.createPool;
  const pool = createPool({
    uri: uri.replace(/^mariadb:/, 'mysql:'),
    connectionLimit: 10,
    connectTimeout: 3000,
    enableKeepAlive: true,
  });
  // A connection lost while checked out must not crash the process: its next query fails instead.
  pool.on('connection', (connection) => connection.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
  return new SqlStore(db, 'mysql', (error) => (error as { errno?: number } | null)?.errno === 1062);
}
