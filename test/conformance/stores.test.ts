import { afterAll, describe, it } from 'vitest';
import { announce, selectTestDatabases } from '../support/databases.ts';
import { defineStoreConformance } from './store.conformance.ts';

/**
 * The store conformance suite, once per selected database (REVOCABLE_TEST_STORES, default all four).
 * A selected server that is not reachable is announced and skipped, or fails the run under
 * REVOCABLE_REQUIRE_STORES=1: it never passes silently.
 */

const selection = await selectTestDatabases();
const ran: string[] = [];

for (const kind of selection.kinds) {
  if (!kind.reachable && selection.required) {
    describe(`store conformance: ${kind.name}`, () => {
      it(`is reachable at ${kind.location} (REVOCABLE_REQUIRE_STORES=1)`, () => {
        throw new Error(`${kind.name} is not reachable at ${kind.location}: ${kind.problem}`);
      });
    });
    continue;
  }
  describe.skipIf(!kind.reachable)(`store conformance: ${kind.name}`, () => {
    defineStoreConformance(kind, () => ran.push(kind.name));
  });
}

afterAll(() => {
  const skipped = selection.kinds.filter((kind) => !kind.reachable).map((kind) => kind.name);
  announce(
    `store conformance: ran on ${ran.length ? ran.join(', ') : 'no store'}` +
      (skipped.length ? ` (NOT REACHABLE: ${skipped.join(', ')})` : ''),
  );
});
