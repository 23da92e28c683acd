import { describe, expect, it } from 'vitest';
import { LogCursor } from '../src/revocation/log-cursor.ts';
import { SettingsError } from '../src/errors.ts';
import { resolveSettings } from '../src/settings/settings.ts';
import { SIGNING_KEY } from './helpers.ts';

describe('the revocation log cursor', () => {
  it('asks again for a number it skipped until it arrives: a late commit is not lost', () => {
    const cursor = new LogCursor();
    cursor.advance([1, 2, 3], 0, true);
    expect(cursor.request()).toEqual({ afterSeq: 3, missing: [] });
    // 4 was handed out first but commits after 5 and 6.
    cursor.advance([5, 6], 100);
    expect(cursor.request()).toEqual({ afterSeq: 6, missing: [4] });
    cursor.advance([], 200);
    expect(cursor.request()).toEqual({ afterSeq: 6, missing: [4] });
    cursor.advance([4, 7], 300);
    expect(cursor.request()).toEqual({ afterSeq: 7, missing: [] });
  });

  it('gives a gap up only after two minutes and 40 reads, so an outage of the reader does not', () => {
    const cursor = new LogCursor();
    cursor.advance([1], 0, true);
    cursor.advance([3], 0);
    for (let read = 0; read < 39; read++) cursor.advance([], 1_000_000);
    expect(cursor.request().missing).toEqual([2]);
    cursor.advance([], 1_000_000);
    expect(cursor.request().missing).toEqual([]);

    const outage = new LogCursor();
    outage.advance([1], 0, true);
    outage.advance([3], 0);
    for (let read = 0; read < 100; read++) outage.advance([], 60_000);
    expect(outage.request().missing).toEqual([2]);
  });

  it('does not take the holes of the start-up load (expired entries) for late commits', () => {
    const cursor = new LogCursor();
    cursor.advance([10, 20, 30], 0, true);
    expect(cursor.request()).toEqual({ afterSeq: 30, missing: [] });
  });

  it('does not list a huge jump of the sequence number by number', () => {
    const cursor = new LogCursor();
    cursor.advance([1], 0, true);
    cursor.advance([1_000_000_000], 0);
    expect(cursor.openGaps).toBeLessThanOrEqual(5000);
  });
});

describe('poll interval and staleness bound', () => {
  it('refuses a poll interval over half the staleness bound', () => {
    expect(() => resolveSettings({ signingKey: SIGNING_KEY, revocationPollInterval: '3s' })).toThrow(SettingsError);
    expect(() => resolveSettings({ signingKey: SIGNING_KEY, revocationPollInterval: '3s' })).toThrow(
      'Invalid setting "revocationPollInterval": must be at most half of maxRevocationStaleness (5 s)',
    );
    expect(() => resolveSettings({ signingKey: SIGNING_KEY, revocationPollInterval: '2s' })).not.toThrow();
    expect(() => resolveSettings({ signingKey: SIGNING_KEY, revocationPollInterval: 0 })).not.toThrow();
  });
});
