import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';

/** The SQL dialects the migrations know how to write an auto-increment key for. */
export type SqlDialectName = 'sqlite' | 'postgres' | 'mysql';

/**
 * Migrations live in code (not files) so they ship inside the package and run the same from a test,
 * the CLI and a host application. Never edit a released migration: add a new one.
 */
export function migrationProvider(dialect: SqlDialectName): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      return {
        '0001_initial': initial(dialect),
        '0002_clients': clients(dialect),
        '0003_signing_keys': signingKeys(dialect),
        '0004_audit': audit(dialect),
      };
    },
  };
}

function initial(dialect: SqlDialectName): Migration {
  return {
    // biome-ignore lint/suspicious/noExplicitAny: migrations run before the typed schema exists
    async up(db: Kysely<any>) {
      const { key, text } = await stringTypes(db, dialect);
      await db.schema
        .createTable('users')
        .addColumn('id', 'integer', (col) => autoIncrement(col, dialect))
        .addColumn('username', key, (col) => col.notNull().unique())
        .addColumn('password', text, (col) => col.notNull())
        .addColumn('is_active', 'integer', (col) => col.notNull().defaultTo(1))
        .addColumn('is_staff', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('last_login_ms', 'bigint')
        .addColumn('date_joined_ms', 'bigint', (col) => col.notNull())
        .execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', key, (col) => col.primaryKey())
        .addColumn('user_id', key, (col) => col.notNull())
        .addColumn('generation', 'integer', (col) => col.notNull())
        .addColumn('created_at_ms', 'bigint', (col) => col.notNull())
        .addColumn('last_used_at_ms', 'bigint', (col) => col.notNull())
        .addColumn('expires_at_ms', 'bigint', (col) => col.notNull())
        .addColumn('user_agent', text)
        .addColumn('ip', key)
        .addColumn('revoked_at_ms', 'bigint')
        .addColumn('revoked_reason', key)
        .execute();
      // Live sessions of a user: listings, and the batched revocation after a revoke-all.
      await db.schema.createIndex('sessions_user_idx').on('sessions').columns(['user_id', 'revoked_at_ms']).execute();
      await db.schema.createIndex('sessions_expires_idx').on('sessions').column('expires_at_ms').execute();

      await db.schema
        .createTable('outstanding_tokens')
        .addColumn('jti', key, (col) => col.primaryKey())
        .addColumn('user_id', key, (col) => col.notNull())
        .addColumn('session_id', key, (col) => col.notNull())
        .addColumn('token_type', key, (col) => col.notNull())
        .addColumn('generation', 'integer', (col) => col.notNull())
        .addColumn('issued_at_ms', 'bigint', (col) => col.notNull())
        .addColumn('expires_at_ms', 'bigint', (col) => col.notNull())
        .addColumn('rotated_at_ms', 'bigint')
        .addColumn('replaced_by', key)
        .execute();
      // The bookkeeping after a revoke-all walks one user's rows in jti order, batch by batch.
      await db.schema.createIndex('outstanding_user_idx').on('outstanding_tokens').columns(['user_id', 'jti']).execute();
      await db.schema.createIndex('outstanding_session_idx').on('outstanding_tokens').column('session_id').execute();
      await db.schema.createIndex('outstanding_expires_idx').on('outstanding_tokens').column('expires_at_ms').execute();

      await db.schema
        .createTable('blacklisted_tokens')
        .addColumn('jti', key, (col) => col.primaryKey())
        .addColumn('user_id', key, (col) => col.notNull())
        .addColumn('expires_at_ms', 'bigint', (col) => col.notNull())
        .addColumn('blacklisted_at_ms', 'bigint', (col) => col.notNull())
        .addColumn('reason', key, (col) => col.notNull())
        .execute();
      await db.schema.createIndex('blacklisted_expires_idx').on('blacklisted_tokens').column('expires_at_ms').execute();

      await db.schema
        .createTable('user_revocations')
        .addColumn('user_id', key, (col) => col.primaryKey())
        .addColumn('generation', 'integer', (col) => col.notNull())
        .addColumn('revoked_at_ms', 'bigint', (col) => col.notNull())
        .addColumn('reason', key, (col) => col.notNull())
        .addColumn('marked_generation', 'integer', (col) => col.notNull().defaultTo(0))
        .execute();

      await db.schema
        .createTable('revocation_log')
        // Every rotation appends a row: 32 bits would run out (SQLite's INTEGER is 64-bit already).
        .addColumn('seq', dialect === 'sqlite' ? 'integer' : 'bigint', (col) => autoIncrement(col, dialect))
        .addColumn('kind', key, (col) => col.notNull())
        .addColumn('subject', key, (col) => col.notNull())
        .addColumn('user_id', key, (col) => col.notNull())
        .addColumn('generation', 'integer')
        .addColumn('at_ms', 'bigint', (col) => col.notNull())
        .addColumn('expires_at_ms', 'bigint', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('revocation_log_expires_idx').on('revocation_log').column('expires_at_ms').execute();
      await db.schema.createIndex('revocation_log_at_idx').on('revocation_log').column('at_ms').execute();
    },
  };
}

/** OAuth clients that may call introspection (RFC 7662) and revocation (RFC 7009). */
function clients(dialect: SqlDialectName): Migration {
  return {
    // biome-ignore lint/suspicious/noExplicitAny: migrations run before the typed schema exists
    async up(db: Kysely<any>) {
      const { key, text } = await stringTypes(db, dialect);
      await db.schema
        .createTable('oauth_clients')
        .addColumn('client_id', key, (col) => col.primaryKey())
        .addColumn('secret_hash', text, (col) => col.notNull())
        .addColumn('name', key, (col) => col.notNull())
        .addColumn('created_at_ms', 'bigint', (col) => col.notNull())
        .execute();
    },
  };
}

function signingKeys(dialect: SqlDialectName): Migration {
  return {
    // biome-ignore lint/suspicious/noExplicitAny: migrations run before the typed schema exists
    async up(db: Kysely<any>) {
      const { key } = await stringTypes(db, dialect);
      // PEM keys outgrow MySQL's bounded `text` (an RSA private key is ~1.7 kB, varchar(1024) there) and are
      // never compared: an unbounded TEXT everywhere.
      const pem = sql`text`;
      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', key, (col) => col.primaryKey())
        .addColumn('algorithm', key, (col) => col.notNull())
        .addColumn('private_key', pem, (col) => col.notNull())
        .addColumn('public_key', pem)
        .addColumn('created_at_ms', 'bigint', (col) => col.notNull())
        .addColumn('activates_at_ms', 'bigint')
        .addColumn('verify_until_ms', 'bigint')
        .execute();
    },
  };
}

/** The audit trail: who revoked what and why, and every login (failed or not). Kept until deleted by hand. */
function audit(dialect: SqlDialectName): Migration {
  return {
    // biome-ignore lint/suspicious/noExplicitAny: migrations run before the typed schema exists
    async up(db: Kysely<any>) {
      const { key, text } = await stringTypes(db, dialect);
      await db.schema
        .createTable('audit_events')
        .addColumn('id', dialect === 'sqlite' ? 'integer' : 'bigint', (col) => autoIncrement(col, dialect))
        .addColumn('at_ms', 'bigint', (col) => col.notNull())
        .addColumn('action', key, (col) => col.notNull())
        .addColumn('actor', key, (col) => col.notNull())
        .addColumn('user_id', key)
        .addColumn('subject', key)
        .addColumn('reason', text)
        .addColumn('ip', key)
        .execute();
      await db.schema.createIndex('audit_events_at_idx').on('audit_events').column('at_ms').execute();
      await db.schema.createIndex('audit_events_user_idx').on('audit_events').columns(['user_id', 'at_ms']).execute();
    },
  };
}

/**
 * Strings are keys and ids, compared exactly as in SQLite and PostgreSQL. MySQL needs a bounded length
 * to index them and, by default, compares case-insensitively and ignores trailing spaces: keys get a
 * binary collation without padding (MariaDB's `utf8mb4_nopad_bin`, MySQL 8's `utf8mb4_0900_bin`).
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before the typed schema exists
async function stringTypes(db: Kysely<any>, dialect: SqlDialectName) {
  if (dialect !== 'mysql') return { key: sql`text`, text: sql`text` };
  const version = (await sql<{ version: string }>`select version() as version`.execute(db)).rows[0]?.version ?? '';
  const collation = /mariadb/i.test(version) ? 'utf8mb4_nopad_bin' : 'utf8mb4_0900_bin';
  return {
    key: sql.raw(`varchar(191) character set utf8mb4 collate ${collation}`),
    text: sql.raw(`varchar(1024) character set utf8mb4 collate ${collation}`),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: Kysely's column builder type is internal
function autoIncrement(col: any, dialect: SqlDialectName): any {
  if (dialect === 'sqlite') return col.primaryKey().autoIncrement();
  if (dialect === 'mysql') return col.primaryKey().autoIncrement();
  return col.primaryKey().generatedByDefaultAsIdentity();
}
