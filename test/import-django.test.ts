import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { pbkdf2Sync } from 'node:crypto';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Sqlite from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../src/clock.ts';
import { importDjango } from '../src/cli/commands/import-django.ts';
import { type DjangoImportReport, importFromDjango } from '../src/import/django.ts';
import { djangoTimeMs, openDjangoSource } from '../src/import/django-source.ts';
import type { SqlStore } from '../src/store/sql/sql-store.ts';
import type { Store } from '../src/store/store.ts';
import { accepted, tempDir, testAuth, testServer } from './helpers.ts';
import { announce, selectTestDatabases } from './support/databases.ts';
import { TEST_POSTGRES_URL, freshPostgresSchema, postgresReachable } from './support/postgres-schema.ts';

/**
 * `revocable import-django` against a database Django and Simple JWT made themselves
 * (test/fixtures/django/make_fixture.py): users log in with their Django passwords, blacklisted Simple
 * JWT refresh tokens stay refused, outstanding ones keep working, and a second run changes nothing.
 */

const FIXTURES = resolve(import.meta.dirname, 'fixtures', 'django');
const DJANGO_DB = join(FIXTURES, 'django.sqlite3');
const fixture = JSON.parse(readFileSync(join(FIXTURES, 'django-fixture.json'), 'utf8')) as {
  signingKey: string;
  users: { id: number; username: string; password: string; isActive: boolean; isStaff: boolean }[];
  tokens: Record<
    'alice_live' | 'bob_live' | 'carol_live' | 'alice_blacklisted' | 'bob_rotated' | 'bob_successor_blacklisted' | 'alice_expired_row',
    string
  >;
};
const password = (username: string) => fixture.users.find((user) => user.username === username)!.password;
/** The standalone server's defaults: rotation, and blacklisting of the rotated token. */
const settings = { signingKey: fixture.signingKey, rotateRefreshTokens: true, blacklistAfterRotation: true };

const dir = tempDir();
afterAll(() => dir.remove());
let files = 0;
const freshFile = (name: string) => join(dir.path, `${files++}-${name}`);

/** What the fixture's first import does: 3 users; 6 tokens recorded (3 blacklisted); 1 expired row left out. */
const FIRST_IMPORT: DjangoImportReport = {
  users: { read: 3, inserted: 3, unchanged: 0, passwordsUpdated: 0, conflicts: [], unsupportedHashes: 0 },
  tokens: { found: true, read: 7, recorded: 6, blacklisted: 3, unchanged: 0, expired: 1, skipped: 0 },
};
const RERUN: DjangoImportReport = {
  users: { read: 3, inserted: 0, unchanged: 3, passwordsUpdated: 0, conflicts: [], unsupportedHashes: 0 },
  tokens: { found: true, read: 7, recorded: 0, blacklisted: 0, unchanged: 6, expired: 1, skipped: 0 },
};

async function runImport(store: Store, from: string, batchSize?: number): Promise<DjangoImportReport> {
  const source = await openDjangoSource(from);
  const auth = await testAuth({ database: store, settings });
  try {
    return await importFromDjango(source, {
      store,
      settings: auth.settings,
      clock: systemClock,
      ...(batchSize ? { batchSize } : {}),
    });
  } finally {
    await auth.close();
    await source.close();
  }
}

const post = async (app: FastifyInstance, url: string, payload: Record<string, string>) => {
  const response = await app.inject({ method: 'POST', url, payload });
  return { status: response.statusCode, body: response.body ? response.json() : undefined };
};
const BLACKLISTED = { status: 401, body: { detail: 'Token is blacklisted', code: 'token_not_valid' } };

/** Every row of the tables an import writes, in a stable order. */
async function snapshot(store: Store) {
  const { db } = store as SqlStore;
  return {
    users: await db.selectFrom('users').selectAll().orderBy('id').execute(),
    outstanding: await db.selectFrom('outstanding_tokens').selectAll().orderBy('jti').execute(),
    blacklisted: await db.selectFrom('blacklisted_tokens').selectAll().orderBy('jti').execute(),
    sessions: await db.selectFrom('sessions').selectAll().orderBy('id').execute(),
    log: await db.selectFrom('revocation_log').selectAll().orderBy('seq').execute(),
  };
}

/** The acceptance, through the real HTTP server: logins, refusals, the outstanding token refreshing. */
async function checkThroughHttp(app: FastifyInstance, store: Store) {
  const { tokens } = fixture;
  // Users log in with their Django passwords; the stored hash becomes argon2id.
  expect((await store.findUserByUsername('alice'))!.password).toMatch(/^pbkdf2_sha256\$/);
  const login = await post(app, '/api/token/', { username: 'alice', password: password('alice') });
  expect(login.status).toBe(200);
  expect(login.body).toEqual({ refresh: expect.any(String), access: expect.any(String) });
  expect((await store.findUserByUsername('alice'))!.password).toMatch(/^\$argon2id\$/);
  expect((await post(app, '/api/token/', { username: 'alice', password: password('alice') })).status).toBe(200);
  expect((await post(app, '/api/token/', { username: 'bob', password: password('bob') })).status).toBe(200);
  expect(await post(app, '/api/token/', { username: 'alice', password: 'not her password' })).toMatchObject({ status: 401 });
  // The inactive user cannot log in, and the hash of a login refused is not upgraded.
  expect(await post(app, '/api/token/', { username: 'carol', password: password('carol') })).toEqual({
    status: 401,
    body: { detail: 'No active account found with the given credentials' },
  });
  expect((await store.findUserByUsername('carol'))!.password).toMatch(/^pbkdf2_sha256\$/);

  // Blacklisted in Django (a logout, a rotation, a rotated successor): refused by refresh, verify and blacklist.
  for (const token of [tokens.alice_blacklisted, tokens.bob_rotated, tokens.bob_successor_blacklisted]) {
    expect(await post(app, '/api/token/refresh/', { refresh: token })).toEqual(BLACKLISTED);
    expect(await post(app, '/api/token/verify/', { token })).toEqual(BLACKLISTED);
    expect(await post(app, '/api/token/blacklist/', { refresh: token })).toEqual(BLACKLISTED);
  }
  // Outstanding and valid: verifies and refreshes (rotating, as the server does by default).
  expect(await post(app, '/api/token/verify/', { token: tokens.bob_live })).toEqual({ status: 200, body: {} });
  const refreshed = await post(app, '/api/token/refresh/', { refresh: tokens.alice_live });
  expect(refreshed).toEqual({ status: 200, body: { access: expect.any(String), refresh: expect.any(String) } });
  const me = await app.inject({ method: 'GET', url: '/api/me/', headers: { authorization: `Bearer ${refreshed.body.access}` } });
  expect(me.json()).toEqual({ id: 1, username: 'alice' });
  // Outstanding, but its user is inactive.
  expect(await post(app, '/api/token/refresh/', { refresh: tokens.carol_live })).toMatchObject({
    status: 401,
    body: { code: 'no_active_account' },
  });
  // Its row had expired: not imported, so refused like any token never issued here.
  expect(await post(app, '/api/token/refresh/', { refresh: tokens.alice_expired_row })).toEqual({
    status: 401,
    body: { detail: 'Token is invalid or expired', code: 'token_not_valid' },
  });
}

const selection = await selectTestDatabases();
const ran: string[] = [];
afterAll(() => announce(`import-django: ran on ${ran.join(', ') || 'no store'}`));

for (const kind of selection.kinds) {
  if (!kind.reachable && selection.required) {
    it(`import-django into ${kind.name}: reachable at ${kind.location} (REVOCABLE_REQUIRE_STORES=1)`, () => {
      throw new Error(`${kind.name} is not reachable at ${kind.location}: ${kind.problem}`);
    });
    continue;
  }
  describe.skipIf(!kind.reachable)(`import-django into ${kind.name}`, () => {
    it('imports the Django database; its users log in, its blacklisted tokens stay refused; a re-run changes nothing', async () => {
      const database = await kind.create();
      const store = await database.open();
      try {
        // Two users per batch: the reads page through both tables.
        expect(await runImport(store, `sqlite:${DJANGO_DB}`, 2)).toEqual(FIRST_IMPORT);
        const users = await Promise.all(fixture.users.map((user) => store.findUserById(user.id)));
        expect(users.map((user) => user && { ...user, password: user.password.split('$')[0] })).toEqual(
          fixture.users.map((user) => ({
            id: user.id,
            username: user.username,
            password: 'pbkdf2_sha256',
            isActive: user.isActive,
            isStaff: user.isStaff,
            lastLoginMs: user.username === 'alice' ? Date.UTC(2024, 0, 2, 3, 4, 5, 678) : null,
            dateJoinedMs: Date.UTC(2025, 0, 1, 12),
          })),
        );
        // Only claims are kept: no column holds a raw token.
        expect(JSON.stringify(await snapshot(store))).not.toContain('eyJ');

        const { auth, app } = await testServer({ database: store, settings });
        try {
          await checkThroughHttp(app, store);
          const before = await snapshot(store);
          expect(await runImport(store, `sqlite:${DJANGO_DB}`)).toEqual(RERUN);
          expect(await snapshot(store)).toEqual(before);
          expect((await store.findUserByUsername('alice'))!.password).toMatch(/^\$argon2id\$/);
          // The next user created here does not take an imported id (PostgreSQL's identity is moved past them).
          expect((await auth.users.create({ username: 'dave', password: 'pw' })).id).toBe(4);
        } finally {
          await app.close();
          await auth.close();
        }
        ran.push(kind.name);
      } finally {
        await database.dispose();
      }
    }, 60_000);
  });
}

/** Django's `pbkdf2_sha256` hash, as `make_password` writes it. */
const djangoHash = (secret: string, salt: string) =>
  `pbkdf2_sha256$1000$${salt}$${pbkdf2Sync(secret, salt, 1000, 32, 'sha256').toString('base64')}`;

describe('import-django run again after Django changed', () => {
  it('imports only the new users, follows a hash no login upgraded, and blacklists what Django blacklisted since', async () => {
    const copy = freshFile('django.sqlite3');
    copyFileSync(DJANGO_DB, copy);
    const database = `sqlite:${freshFile('revocable.db')}`;
    // Without rotation, so that bob's refresh below leaves his Simple JWT token outstanding.
    const auth = await testAuth({ database, settings: { ...settings, rotateRefreshTokens: false } });
    try {
      expect(await runImport(auth.store, `sqlite:${copy}`)).toEqual(FIRST_IMPORT);
      // Bob keeps using his Simple JWT session here: an access token minted here in its session.
      const { access } = await auth.refresh(fixture.tokens.bob_live);
      expect(accepted(auth, access)).toBe(true);
      await auth.obtainTokens('alice', password('alice'));

      // Meanwhile in Django: a new user, carol's and alice's passwords changed, bob's token blacklisted.
      const django = new Sqlite(copy);
      django
        .prepare(
          `insert into auth_user (id, password, last_login, is_superuser, username, last_name, email, is_staff, is_active,
           date_joined, first_name) values (4, ?, null, 0, 'erin', '', '', 0, 1, '2025-02-03 04:05:06.789000', '')`,
        )
        .run(djangoHash('erin password', 'erinsalt'));
      django.prepare(`update auth_user set password = ? where username = 'carol'`).run(djangoHash('carol new', 'carolsalt'));
      django.prepare(`update auth_user set password = ? where username = 'alice'`).run(djangoHash('alice new', 'alicesalt'));
      const bobLive = JSON.parse(Buffer.from(fixture.tokens.bob_live.split('.')[1]!, 'base64url').toString()).jti;
      django
        .prepare(
          `insert into token_blacklist_blacklistedtoken (blacklisted_at, token_id)
           select '2025-02-03 04:05:06', id from token_blacklist_outstandingtoken where jti = ?`,
        )
        .run(bobLive);
      django.close();

      expect(await runImport(auth.store, `sqlite:${copy}`)).toEqual({
        users: { read: 4, inserted: 1, unchanged: 2, passwordsUpdated: 1, conflicts: [], unsupportedHashes: 0 },
        tokens: { found: true, read: 7, recorded: 0, blacklisted: 1, unchanged: 5, expired: 1, skipped: 0 },
      });
      await auth.syncRevocations();
      // The new user logs in with the Django password.
      await expect(auth.obtainTokens('erin', 'erin password')).resolves.toHaveProperty('access');
      // Carol's hash (never upgraded) follows Django's; alice's, upgraded by her login here, does not.
      expect((await auth.store.findUserByUsername('carol'))!.password).toBe(djangoHash('carol new', 'carolsalt'));
      await expect(auth.obtainTokens('alice', password('alice'))).resolves.toHaveProperty('access');
      await expect(auth.obtainTokens('alice', 'alice new')).rejects.toMatchObject({ code: 'no_active_account' });
      // Bob's token, blacklisted in Django since, is refused, and so is the session it started here.
      await expect(auth.refresh(fixture.tokens.bob_live)).rejects.toMatchObject({ detail: 'Token is blacklisted' });
      expect(accepted(auth, access)).toBe(false);
    } finally {
      await auth.close();
    }
  }, 30_000);

  it('imports no user whose id or username is taken here, nor their live tokens', async () => {
    const auth = await testAuth({ database: `sqlite:${freshFile('revocable.db')}`, settings });
    try {
      const zed = await auth.users.create({ username: 'zed', password: 'zed password' });
      expect(zed.id).toBe(1);
      const report = await runImport(auth.store, `sqlite:${DJANGO_DB}`);
      expect(report.users).toEqual({
        read: 3,
        inserted: 2,
        unchanged: 0,
        passwordsUpdated: 0,
        conflicts: [{ id: 1, username: 'alice', existing: { id: 1, username: 'zed' } }],
        unsupportedHashes: 0,
      });
      // alice_live is left out; her blacklisted token is imported all the same (refusing is always safe).
      expect(report.tokens).toEqual({ found: true, read: 7, recorded: 5, blacklisted: 3, unchanged: 0, expired: 1, skipped: 1 });
      // Alice's Simple JWT token does not become zed's.
      await expect(auth.refresh(fixture.tokens.alice_live)).rejects.toMatchObject({ detail: 'Token is invalid or expired' });
      await expect(auth.refresh(fixture.tokens.alice_blacklisted)).rejects.toMatchObject({ detail: 'Token is blacklisted' });
    } finally {
      await auth.close();
    }
  }, 30_000);
});

const postgresUp = await postgresReachable();
if (!postgresUp) announce(`import-django: PostgreSQL NOT REACHABLE at ${TEST_POSTGRES_URL} — importing from Django on PostgreSQL is skipped`);
if (!postgresUp && selection.required) {
  it('reads Django on PostgreSQL: reachable (REVOCABLE_REQUIRE_STORES=1)', () => {
    throw new Error(`PostgreSQL is not reachable at ${TEST_POSTGRES_URL}`);
  });
}

/** Django 3.2's tables on PostgreSQL, as its migrations make them (`pg_dump -s`, foreign keys aside). */
const DJANGO_POSTGRES_TABLES = `
  create table auth_user (
    id serial primary key, password varchar(128) not null, last_login timestamp with time zone,
    is_superuser boolean not null, username varchar(150) not null unique, first_name varchar(150) not null,
    last_name varchar(150) not null, email varchar(254) not null, is_staff boolean not null,
    is_active boolean not null, date_joined timestamp with time zone not null);
  create table token_blacklist_outstandingtoken (
    id bigserial primary key, token text not null, created_at timestamp with time zone,
    expires_at timestamp with time zone not null, user_id integer references auth_user (id),
    jti varchar(255) not null unique);
  create table token_blacklist_blacklistedtoken (
    id bigserial primary key, blacklisted_at timestamp with time zone not null,
    token_id bigint not null unique references token_blacklist_outstandingtoken (id));`;

describe.skipIf(!postgresUp)('import-django from Django on PostgreSQL', () => {
  it('reads the same users and tokens from the fixture copied into a PostgreSQL schema', async () => {
    const schema = await freshPostgresSchema('django');
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    const database = `sqlite:${freshFile('revocable.db')}`;
    try {
      await client.query(DJANGO_POSTGRES_TABLES);
      const django = new Sqlite(DJANGO_DB, { readonly: true });
      // SQLite's UTC text becomes timestamptz; booleans stay booleans.
      const at = (text: string | null) => (text === null ? null : new Date(djangoTimeMs(text)!));
      for (const table of ['auth_user', 'token_blacklist_outstandingtoken', 'token_blacklist_blacklistedtoken']) {
        for (const row of django.prepare(`select * from ${table} order by id`).all() as Record<string, unknown>[]) {
          const values = Object.entries(row).map(([column, value]) =>
            /^(last_login|date_joined|created_at|expires_at|blacklisted_at)$/.test(column)
              ? at(value as string | null)
              : /^is_/.test(column)
                ? Boolean(value)
                : value,
          );
          const columns = Object.keys(row);
          await client.query(
            `insert into ${table} (${columns.join(', ')}) values (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
            values,
          );
        }
      }
      django.close();

      const { auth, app } = await testServer({ database, settings });
      try {
        expect(await runImport(auth.store, schema.url, 2)).toEqual(FIRST_IMPORT);
        await auth.syncRevocations();
        await checkThroughHttp(app, auth.store);
        expect(await runImport(auth.store, schema.url)).toEqual(RERUN);
      } finally {
        await app.close();
        await auth.close();
      }
    } finally {
      await client.end();
      await schema.drop();
    }
  }, 60_000);
});

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '..', 'bin', 'revocable.js');

async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      cwd: dir.path,
      env: { ...process.env, DATABASE_URL: 'sqlite:./cli-import.db', REVOCABLE_SIGNING_KEY: fixture.signingKey, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('revocable import-django', () => {
  it('prints plain counts (no progress bar off a terminal), and the same run again imports nothing', async () => {
    const from = `sqlite:${DJANGO_DB}`;
    expect(await cli(['import-django', '--from', from])).toEqual({
      code: 0,
      stdout:
        `importing from ${from} into sqlite:./cli-import.db\n` +
        'users: 3 read: 3 imported, 0 already here, 0 password hashes updated from Django, 0 conflicts\n' +
        'tokens: 7 read: 6 recorded, 3 blacklisted, 0 already here, 1 expired and 0 of deleted or conflicting users left out\n',
      stderr: '',
    });
    expect(await cli(['import-django', '--from', from, '--batch-size', '1'])).toMatchObject({
      code: 0,
      stdout:
        `importing from ${from} into sqlite:./cli-import.db\n` +
        'users: 3 read: 0 imported, 3 already here, 0 password hashes updated from Django, 0 conflicts\n' +
        'tokens: 7 read: 0 recorded, 0 blacklisted, 6 already here, 1 expired and 0 of deleted or conflicting users left out\n',
    });
    // What the CLI imported, a server on the same database honours.
    const { auth, app } = await testServer({ database: `sqlite:${join(dir.path, 'cli-import.db')}`, settings });
    try {
      expect((await post(app, '/api/token/', { username: 'bob', password: password('bob') })).status).toBe(200);
      expect(await post(app, '/api/token/refresh/', { refresh: fixture.tokens.alice_blacklisted })).toEqual(BLACKLISTED);
    } finally {
      await app.close();
      await auth.close();
    }
  }, 30_000);

  it('exits non-zero, naming them, when users conflict with users already here', async () => {
    const env = { DATABASE_URL: 'sqlite:./cli-conflict.db' };
    expect((await cli(['create-user', 'zed', '--password', 'pw'], env)).code).toBe(0);
    const result = await cli(['import-django', '--from', `sqlite:${DJANGO_DB}`], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('users: 3 read: 2 imported, 0 already here, 0 password hashes updated from Django, 1 conflicts\n');
    expect(result.stderr).toBe(
      'revocable: not imported: Django user 1 "alice": user 1 "zed" is here already\n' +
        'revocable: 1 Django users were not imported: their id or username belongs to another user here ' +
        '(import into a database without users of its own)\n',
    );
  });

  it.each([
    [['import-django'], "error: required option '--from <url>' not specified"],
    [['import-django', '--from', 'oracle://db'], 'revocable: unsupported Django database "oracle" (use sqlite:/path/db.sqlite3 or postgres://…)'],
    [['import-django', '--from', 'sqlite:/nonexistent/django.sqlite3'], 'revocable: cannot open /nonexistent/django.sqlite3'],
    [['import-django', '--from', `sqlite:${DJANGO_DB}`, '--user-table', 'accounts_user'], 'revocable: no table accounts_user in'],
    [['import-django', '--from', `sqlite:${DJANGO_DB}`, '--batch-size', '0'], 'revocable: --batch-size must be a whole number'],
  ])('%j fails with one clear line', async (args, message) => {
    const result = await cli(args, { DATABASE_URL: 'sqlite:./cli-errors.db' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(message);
  });

  it('draws a progress bar on stderr when on a terminal', async () => {
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = `sqlite:${freshFile('tty.db')}`;
    const lines: string[] = [];
    let drawn = '';
    try {
      await importDjango({ from: `sqlite:${DJANGO_DB}` }, (line) => lines.push(line), {
        stdout: { isTTY: true },
        stderr: { isTTY: true, columns: 120, write: (text: string) => (drawn += text) },
      });
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
    expect(drawn).toContain('users  [##############################] 100%  3 / 3 rows');
    expect(drawn).toContain('tokens [##############################] 100%  7 / 7 rows');
    expect(drawn.endsWith('\r\x1b[2K')).toBe(true);
    expect(lines[1]).toBe('users: 3 read: 3 imported, 0 already here, 0 password hashes updated from Django, 0 conflicts');
  });
});
