import { describe, expect, it } from 'vitest';
import { decodeEntries, encodeEntries } from '../src/bus/bus.ts';
import { inProcessBus } from '../src/bus/in-process.ts';
import { openBus } from '../src/bus/open.ts';
import { SettingsError } from '../src/errors.ts';
import type { RevocationEntry } from '../src/store/records.ts';
import { loadDriver } from '../src/store/driver.ts';
import { testAuth } from './helpers.ts';

const entry = (seq: number): RevocationEntry => ({
  seq,
  kind: 'session',
  subject: `session-${seq}-${'x'.repeat(40)}`,
  userId: '1',
  atMs: 1,
  expiresAtMs: 2,
});

describe('bus messages', () => {
  it('split into NOTIFY-sized payloads and come back whole', () => {
    const entries = Array.from({ length: 500 }, (_, i) => entry(i + 1));
    const messages = encodeEntries(entries);
    expect(messages.length).toBeGreaterThan(1);
    for (const message of messages) expect(Buffer.byteLength(message)).toBeLessThanOrEqual(7000);
    expect(messages.flatMap(decodeEntries)).toEqual(entries);
  });

  it('ignore anything on the channel that is not a list of entries', () => {
    for (const garbage of ['', 'not json', '{}', '[1,2]', '[{"kind":"user","subject":"1","seq":1,"atMs":1,"expiresAtMs":2}]', 'null']) {
      expect(decodeEntries(garbage)).toEqual([]);
    }
  });
});

describe('in-process bus', () => {
  it('carries a revocation between two instances on one database before any log read', async () => {
    const channel = `test-${Math.random()}`;
    const { openStore } = await import('../src/store/open.ts');
    const store = await openStore(':memory:');
    const a = await testAuth({ database: store, bus: inProcessBus(channel), revocationPollIntervalMs: 0 });
    const b = await testAuth({ database: store, bus: inProcessBus(channel), revocationPollIntervalMs: 0, settings: {} });
    const alice = await a.users.create({ username: 'alice', password: 'pw' });
    const pair = await a.issueTokens(alice);
    expect(() => b.verifyAccess(pair.access)).not.toThrow();
    await a.revokeAllForUser(alice.id);
    await new Promise((resolve) => setImmediate(resolve));
    expect(() => b.verifyAccess(pair.access)).toThrow('Token is blacklisted');
    await a.close();
    await b.close();
    await store.close();
  });
});

describe('optional drivers', () => {
  it('say which package to install when one is missing', async () => {
    await expect(loadDriver('revocable-no-such-driver', 'PostgreSQL')).rejects.toThrow(
      'PostgreSQL needs the "revocable-no-such-driver" package: npm install revocable-no-such-driver',
    );
  });

  it('refuse an unknown bus URL or a bad channel name, naming the setting', async () => {
    await expect(openBus('kafka://broker')).rejects.toBeInstanceOf(SettingsError);
    await expect(openBus('memory', { channel: 'Bad Channel!' })).rejects.toMatchObject({ setting: 'busChannel' });
  });
});

describe('publishing', () => {
  it('sends each committed revocation once (a blacklist ends its session too: two entries, one message)', async () => {
    const sent: RevocationEntry[][] = [];
    const spy = { ...inProcessBus(`spy-${Math.random()}`) };
    spy.publish = async (entries) => {
      sent.push(entries);
    };
    const auth = await testAuth({ bus: spy });
    const alice = await auth.users.create({ username: 'alice', password: 'pw' });
    const pair = await auth.issueTokens(alice);
    await auth.blacklist(pair.refresh);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.map((entry) => entry.kind).sort()).toEqual(['session', 'token']);
    await auth.revokeAllForUser(alice.id);
    expect(sent).toHaveLength(2);
    await auth.close();
  });
});

