import { afterAll, beforeAll, describe } from 'vitest';
import type { Store } from '../../src/store/store.ts';
import type { TestDatabase, TestDatabaseKind } from '../support/databases.ts';
import { adminConformance } from './store/admin.ts';
import { auditConformance } from './store/audit.ts';
import { concurrencyConformance } from './store/concurrency.ts';
import { flushConformance } from './store/flush.ts';
import { isolatedDatabasesConformance } from './store/isolated-databases.ts';
import { loginGuardConformance } from './store/login-guard.ts';
import { migrationsConformance } from './store/migrations.ts';
import { refreshTokenConformance } from './store/refresh-token.ts';
import { revocationLogConformance } from './store/revocation-log.ts';
import { revokingConformance } from './store/revoking.ts';
import { sessionsConformance } from './store/sessions.ts';
import { signingKeysConformance } from './store/signing-keys.ts';
import { throughAuthConformance } from './store/through-auth.ts';
import { usersConformance } from './store/users.ts';
import type { StoreContext } from './support.ts';

/**
 * The behaviour every {@link Store} must have, defined once and run against every database
 * (test/conformance/stores.test.ts loops it). The suite shares one database per store (PGlite takes
 * seconds to start), so every test works on users, sessions and tokens of its own, and times of its own.
 * The tests live in test/conformance/store/, one module per concern; their helpers in ./support.ts.
 */

/** Defines the conformance tests for one kind of database. `ran` is called once its store is up. */
export function defineStoreConformance(kind: TestDatabaseKind, ran: () => void): void {
  let database: TestDatabase | undefined;
  let store: Store | undefined;
  const ctx: StoreContext = {
    kind,
    get database() {
      if (!database) throw new Error('the conformance database is not set up yet: read ctx.database inside a test');
      return database;
    },
    get store() {
      if (!store) throw new Error('the conformance store is not set up yet: read ctx.store inside a test');
      return store;
    },
  };

  describe('the store', () => {
    beforeAll(async () => {
      database = await kind.create();
      store = await database.open();
      await store.migrate();
      ran();
    });
    afterAll(async () => {
      await database?.dispose();
    });

    describe('migrations', () => migrationsConformance(ctx));
    describe('users', () => usersConformance(ctx));
    describe('sessions and the login guard', () => loginGuardConformance(ctx));
    describe('useRefreshToken', () => refreshTokenConformance(ctx));
    describe('concurrency', () => concurrencyConformance(ctx));
    describe('revoking', () => revokingConformance(ctx));
    describe('sessions', () => sessionsConformance(ctx));
    describe('the revocation log', () => revocationLogConformance(ctx));
    describe('flushing expired rows', () => flushConformance(ctx));
    describe('through Auth', () => throughAuthConformance(ctx));
    describe('the audit trail', () => auditConformance(ctx));
    describe('admin reads', () => adminConformance(ctx));
    // Last: where it shares the database (PGlite), the keys it leaves would sign for a later Auth.
    describe('signing keys', () => signingKeysConformance(ctx));
  });

  // PGlite takes seconds to start and is one instance per database: nothing to isolate side by side.
  if (!kind.cheapToCreate) return;
  describe('isolated databases', () => isolatedDatabasesConformance(ctx));
}
