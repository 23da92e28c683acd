import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { renderProgress, progressBar } from '../src/cli/progress.ts';
import { SettingsError } from '../src/errors.ts';
import { resolveSettings } from '../src/settings/settings.ts';
import { openStore } from '../src/store/open.ts';
import type { SqlStore } from '../src/store/sql/sql-store.ts';
import type { FlushCounts, FlushOptions, FlushProgress, Store } from '../src/store/store.ts';
import { SIGNING_KEY, accepted, clockAt, decodePayload, tempDir, testAuth } from './helpers.ts';

/**
 * `flushExpired` (`revocable flush-expired`, Simple JWT's `flushexpiredtokens`): batched, and never
 * deleting what a token still accepted (leeway included) needs.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NOTHING: FlushCounts = { outstandingTokens: 0, blacklistedTokens: 0, sessions: 0, revocationLog: 0 };

const dir = tempDir();
afterAll(() => dir.remove());
let files = 0;
const databaseFile = () => `sqlite:${join(dir.path, `flush-${files++}.db`)}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rowCount(store: Store, table: 'outstanding_tokens' | 'blacklisted_tokens' | 'sessions' | 'revocation_log') {
  const row = await (store as SqlStore).db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('flushExpired keeps what a token inside the leeway needs', () => {
  it('keeps a refresh token leeway past its expiry, and removes it at expiry + leeway', async () => {
    const clock = clockAt(0);
    const auth = await testAuth({ clock, settings: { leeway: 30, refreshTokenLifetime: '1h' } });
    const alice = await auth.users.create({ username: 'alice', password: 'pw' });
    const pair = await auth.issueTokens(alice);
    const sid = String(decodePayload(pair.refresh).sid);

    clock.advance(HOUR + 30 * SECOND - 1); // expired, but 1 ms inside the leeway
    expect(await auth.flushExpired()).toEqual(NOTHING);
    expect(await auth.store.findSession(sid)).toBeDefined();
    const refreshed = await auth.refresh(pair.refresh);
    expect(accepted(auth, refreshed.access)).toBe(true);

    clock.advance(1); // exp + leeway: the token is refused from now on, and its row may go
    await expect(auth.refresh(pair.refresh)).rejects.toMatchObject({ code: 'token_not_valid' });
    expect(await auth.flushExpired()).toEqual({ ...NOTHING, outstandingTokens: 1 });
    // The session lives on for the access token the refresh minted (its lifetime, plus leeway, plus leeway).
    expect(await auth.store.findSession(sid)).toBeDefined();
    expect(accepted(auth, refreshed.access)).toBe(true);
    clock.advance(5 * MINUTE + 60 * SECOND);
    expect(accepted(auth, refreshed.access)).toBe(false);
    expect(await auth.flushExpired()).toEqual({ ...NOTHING, sessions: 1 });
    await auth.close();
  });

  it('keeps a blacklisted token refused inside the leeway: its row, its log entries, after a restart too', async () => {
    const clock = clockAt(0);
    const database = databaseFile();
    const settings = { leeway: 30, accessTokenLifetime: '5m', refreshTokenLifetime: '5m' };
    const auth = await testAuth({ clock, database, settings });
    // An instance that never reads the log after its start: only the blacklisted-token row can refuse for it.
    const lagging = await testAuth({ clock, database, settings, revocationPollIntervalMs: 0 });
    const alice = await auth.users.create({ username: 'alice', password: 'pw' });
    const pair = await auth.issueTokens(alice);
    await auth.blacklist(pair.refresh);

    clock.advance(5 * MINUTE + 10 * SECOND); // both tokens expired 10 s ago: inside the 30 s leeway
    expect(await auth.flushExpired()).toEqual(NOTHING);
    expect(await rowCount(auth.store, 'blacklisted_tokens')).toBe(1);
    await expect(auth.refresh(pair.refresh)).rejects.toMatchObject({ detail: 'Token is blacklisted' });
    await expect(lagging.refresh(pair.refresh)).rejects.toMatchObject({ detail: 'Token is blacklisted' });
    expect(accepted(auth, pair.access)).toBe(false);
    await auth.close();
    const restarted = await testAuth({ clock, database, settings });
    await expect(restarted.refresh(pair.refresh)).rejects.toMatchObject({ detail: 'Token is blacklisted' });
    expect(accepted(restarted, pair.access)).toBe(false);

    clock.advance(20 * SECOND); // exp + leeway: the token is refused by its exp now
    await expect(restarted.refresh(pair.refresh)).rejects.toMatchObject({ detail: 'Token is invalid or expired' });
    expect(await restarted.flushExpired()).toMatchObject({ outstandingTokens: 1, blacklistedTokens: 0 });
    // The blacklist row and log entry were written with exp + leeway as their expiry: one leeway more.
    clock.advance(30 * SECOND);
    expect(await restarted.flushExpired()).toMatchObject({ blacklistedTokens: 1 });
    expect(await rowCount(restarted.store, 'blacklisted_tokens')).toBe(0);
    await restarted.close();
    await lagging.close();
  });

  it("keeps a revoke-all's log entry while the user's access token lives, across a flush and a restart", async () => {
    const clock = clockAt(0);
    const database = databaseFile();
    // The horizon (longest lifetime + leeway) is 5 min 30 s: the user's log entry lives that long.
    const settings = {
      leeway: 30,
      accessTokenLifetime: '5m',
      refreshTokenLifetime: '5m',
      slidingTokenLifetime: '5m',
      slidingTokenRefreshLifetime: '5m',
    };
    const auth = await testAuth({ clock, database, settings });
    const alice = await auth.users.create({ username: 'alice', password: 'pw' });
    const pair = await auth.issueTokens(alice);
    await auth.revokeAllForUser(alice.id);
    await auth.settled();

    clock.advance(5 * MINUTE + 30 * SECOND - 1); // the access token's last millisecond inside the leeway
    await auth.flushExpired();
    expect(await rowCount(auth.store, 'revocation_log')).toBe(1);
    expect(accepted(auth, pair.access)).toBe(false);
    await auth.close();
    const restarted = await testAuth({ clock, database, settings });
    expect(accepted(restarted, pair.access)).toBe(false);

    clock.advance(30 * SECOND + 1); // the horizon plus leeway: the entry can match no live token
    expect(await restarted.flushExpired()).toMatchObject({ revocationLog: 1 });
    expect(await rowCount(restarted.store, 'revocation_log')).toBe(0);
    await restarted.close();
  });
});

describe('flushExpired in batches', () => {
  it('deletes more rows than one batch holds, a batch at a time, yielding to the event loop between batches', async () => {
    const clock = clockAt(0);
    const auth = await testAuth({ clock, settings: { refreshTokenLifetime: '1h' } });
    const alice = await auth.users.create({ username: 'alice', password: 'pw' });
    const pairs = [];
    for (let i = 0; i < 20; i++) pairs.push(await auth.issueTokens(alice));
    for (const pair of pairs.slice(0, 5)) await auth.blacklist(pair.refresh);
    clock.advance(2 * DAY); // past every token, and past the horizon (one day, the sliding default)
    const live = await auth.issueTokens(alice);

    const progress: FlushProgress[] = [];
    let turns = 0;
    let flushing = true;
    const turn = () => {
      turns++;
      if (flushing) setImmediate(turn);
    };
    setImmediate(turn);
    const counts = await auth.flushExpired({ batchSize: 3, onProgress: (p) => progress.push(p) });
    flushing = false;

    // 5 token entries (the blacklisted tokens) and 5 session entries (their sessions, revoked).
    const expected = { outstandingTokens: 20, blacklistedTokens: 5, sessions: 20, revocationLog: 10 };
    expect(counts).toEqual(expected);
    expect(progress[0]).toEqual({ deleted: NOTHING, expected });
    expect(progress.at(-1)!.deleted).toEqual(counts);
    const totals = progress.map(({ deleted }) => Object.values(deleted).reduce((a, b) => a + b, 0));
    for (let i = 1; i < totals.length; i++) {
      expect(totals[i]! - totals[i - 1]!).toBeGreaterThanOrEqual(0);
      expect(totals[i]! - totals[i - 1]!).toBeLessThanOrEqual(3);
    }
    const batches = progress.length - 1;
    expect(batches).toBeGreaterThanOrEqual(Math.ceil(55 / 3));
    // Every batch but the last was followed by a turn of the event loop.
    expect(turns).toBeGreaterThanOrEqual(batches - 1);

    // What still lives was left alone.
    expect(await auth.listSessions(alice.id)).toHaveLength(1);
    await expect(auth.refresh(live.refresh)).resolves.toHaveProperty('access');
    expect(await auth.flushExpired({ batchSize: 3 })).toEqual(NOTHING);
    await auth.close();
  });
});

/** A store whose flushExpired is replaced, to watch how the Auth calls it. */
function watchedStore(inner: Store, flushExpired: Store['flushExpired']): Store {
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'flushExpired') return flushExpired;
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('the scheduled flush (flushExpiredInterval)', () => {
  it('flushes by itself on its interval', async () => {
    const clock = clockAt(0);
    const auth = await testAuth({ clock, settings: { refreshTokenLifetime: '1h', flushExpiredInterval: '20ms' } });
    const alice = await auth.users.create({ username: 'alice', password: 'pw' });
    const pair = await auth.issueTokens(alice);
    const sid = String(decodePayload(pair.refresh).sid);
    clock.advance(2 * HOUR);
    await vi.waitFor(async () => expect(await auth.store.findSession(sid)).toBeUndefined(), { timeout: 5000, interval: 10 });
    expect(await rowCount(auth.store, 'outstanding_tokens')).toBe(0);
    await auth.close();
  });

  it('never overlaps runs, and close() stops it and the run in progress', async () => {
    const inner = await openStore(':memory:');
    let calls = 0;
    let running = 0;
    let mostAtOnce = 0;
    const signals: AbortSignal[] = [];
    const store = watchedStore(inner, async (nowMs, horizonMs, options?: FlushOptions) => {
      calls++;
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      if (options?.signal) signals.push(options.signal);
      try {
        await sleep(15); // longer than the interval
        return await inner.flushExpired(nowMs, horizonMs, options);
      } finally {
        running--;
      }
    });
    const auth = await testAuth({ database: store, settings: { flushExpiredInterval: '5ms' } });
    await vi.waitFor(() => expect(calls).toBeGreaterThanOrEqual(3), { timeout: 5000, interval: 5 });
    expect(mostAtOnce).toBe(1);
    await auth.close();
    expect(running).toBe(0);
    expect(signals.every((signal) => signal.aborted)).toBe(true);
    const callsAtClose = calls;
    await sleep(50);
    expect(calls).toBe(callsAtClose);
    await inner.close();
  });

  it('close() stops a flush in progress between two batches and waits for it', async () => {
    const inner = await openStore(':memory:');
    let stoppedBySignal = false;
    const store = watchedStore(inner, async (_nowMs, _horizonMs, options?: FlushOptions) => {
      await new Promise<void>((resolve) => options?.signal?.addEventListener('abort', () => resolve(), { once: true }));
      stoppedBySignal = true;
      return NOTHING;
    });
    const auth = await testAuth({ database: store });
    const flushing = auth.flushExpired();
    await auth.close();
    expect(stoppedBySignal).toBe(true);
    await expect(flushing).resolves.toEqual(NOTHING);
    await expect(auth.flushExpired()).rejects.toMatchObject({ code: 'unavailable' });
    await inner.close();
  });

  it('is off by default; takes a duration; refuses one a timer cannot wait', () => {
    expect(resolveSettings({ signingKey: SIGNING_KEY }).flushExpiredInterval).toBe(0);
    expect(resolveSettings({ signingKey: SIGNING_KEY, flushExpiredInterval: '1h' }).flushExpiredInterval).toBe(3600);
    expect(() => resolveSettings({ signingKey: SIGNING_KEY, flushExpiredInterval: '30d' })).toThrow(
      new SettingsError('flushExpiredInterval', 'must be at most 24 days (or 0: off)'),
    );
    expect(() => resolveSettings({ signingKey: SIGNING_KEY, flushExpiredInterval: -1 })).toThrow(SettingsError);
  });
});

describe('the CLI progress bar', () => {
  it('renders one line and erases it when finished', () => {
    expect(renderProgress('flushing', 250, 1000, 1500)).toBe(
      `flushing [${'#'.repeat(8)}${'.'.repeat(22)}]  25%  250 / 1,000 rows  1.5 s`,
    );
    expect(renderProgress('flushing', 0, 0, 0)).toContain('100%');
    let now = 0;
    const written: string[] = [];
    const bar = progressBar({ write: (text: string) => written.push(text), columns: 40 }, 'flushing', { now: () => now });
    bar.update(0, 10);
    now = 50;
    bar.update(5, 10); // within the redraw interval: skipped
    now = 60;
    bar.update(10, 10); // done: drawn whatever the interval
    bar.finish();
    bar.finish();
    expect(written).toHaveLength(3);
    expect(written[0]).toBe(`\r\x1b[2K${renderProgress('flushing', 0, 10, 0).slice(0, 39)}`);
    expect(written[1]).toBe(`\r\x1b[2K${renderProgress('flushing', 10, 10, 60).slice(0, 39)}`);
    expect(written[2]).toBe('\r\x1b[2K');
  });
});
