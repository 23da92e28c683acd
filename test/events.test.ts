import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Auth } from '../src/auth.ts';
import type { AuthEventName, AuthEvents } from '../src/events.ts';
import type { User } from '../src/users/users.ts';
import { decodePayload, testAuth, testServer } from './helpers.ts';

type Recorded = { [K in AuthEventName]: AuthEvents[K][] };
const NAMES: AuthEventName[] = [
  'tokenObtained',
  'tokenRefreshed',
  'tokenBlacklisted',
  'sessionRevoked',
  'userTokensRevoked',
  'refreshReuseDetected',
  'loginFailed',
  'passwordChanged',
];

let auth: Auth;
let alice: User;
let seen: Recorded;

/** Forgets what was seen so far: what follows counts from here. */
function record() {
  seen = Object.fromEntries(NAMES.map((name) => [name, []])) as unknown as Recorded;
}
function listenToEverything() {
  for (const name of NAMES) auth.on(name, (payload) => void (seen[name] as unknown[]).push(payload));
}
function fired(): Partial<Record<AuthEventName, number>> {
  const counts: Partial<Record<AuthEventName, number>> = {};
  for (const name of NAMES) if (seen[name].length) counts[name] = seen[name].length;
  return counts;
}

beforeEach(async () => {
  auth = await testAuth({ settings: { rotateRefreshTokens: true, blacklistAfterRotation: true } });
  alice = await auth.users.create({ username: 'alice', password: 'pw' });
  record();
  listenToEverything();
});
afterEach(() => auth.close());

describe('events', () => {
  it('tokenObtained, once per login, with the session it started', async () => {
    const pair = await auth.obtainTokens('alice', 'pw', { userAgent: 'phone', ip: '10.0.0.1' });
    expect(fired()).toEqual({ tokenObtained: 1 });
    expect(seen.tokenObtained[0]).toEqual({
      userId: alice.id,
      sessionId: decodePayload(pair.access).sid,
      tokenType: 'pair',
      context: { userAgent: 'phone', ip: '10.0.0.1' },
    });
  });

  it('loginFailed, once, with the password masked', async () => {
    await expect(auth.obtainTokens('alice', 'wrong', { ip: '10.0.0.2' })).rejects.toThrow();
    await expect(auth.obtainTokens('nobody', 'secret')).rejects.toThrow();
    expect(fired()).toEqual({ loginFailed: 2 });
    expect(seen.loginFailed[0]).toEqual({
      credentials: { username: 'alice', password: '********************' },
      context: { ip: '10.0.0.2' },
    });
    expect(JSON.stringify(seen.loginFailed)).not.toContain('secret');
  });

  it('tokenRefreshed, once per refresh', async () => {
    const pair = await auth.issueTokens(alice);
    record();
    await auth.refresh(pair.refresh);
    expect(fired()).toEqual({ tokenRefreshed: 1 });
    expect(seen.tokenRefreshed[0]).toMatchObject({
      userId: alice.id,
      sessionId: decodePayload(pair.refresh).sid,
      tokenType: 'refresh',
      rotated: true,
    });
  });

  it('tokenBlacklisted and sessionRevoked, once each, when a refresh token is blacklisted', async () => {
    const pair = await auth.issueTokens(alice);
    record();
    await auth.blacklist(pair.refresh);
    expect(fired()).toEqual({ tokenBlacklisted: 1, sessionRevoked: 1 });
    const { jti, sid } = decodePayload(pair.refresh);
    expect(seen.tokenBlacklisted[0]).toEqual({ jti, userId: alice.id, sessionId: sid });
    expect(seen.sessionRevoked[0]).toEqual({ sessionId: sid, userId: String(alice.id), reason: 'blacklisted' });
  });

  it('sessionRevoked, once, on revokeSession; not again for a session already revoked', async () => {
    const pair = await auth.issueTokens(alice);
    record();
    const sid = String(decodePayload(pair.access).sid);
    expect(await auth.revokeSession(sid, { reason: 'admin' })).toBe(true);
    expect(await auth.revokeSession(sid)).toBe(false);
    expect(fired()).toEqual({ sessionRevoked: 1 });
    expect(seen.sessionRevoked[0]).toEqual({ sessionId: sid, userId: String(alice.id), reason: 'admin' });
  });

  it('userTokensRevoked, once per revoke-all', async () => {
    await auth.revokeAllForUser(alice.id, { reason: 'compromised' });
    expect(fired()).toEqual({ userTokensRevoked: 1 });
    expect(seen.userTokensRevoked[0]).toEqual({ userId: alice.id, reason: 'compromised', generation: 1 });
  });

  it('refreshReuseDetected (and sessionRevoked), once, when a rotated token comes back', async () => {
    const pair = await auth.issueTokens(alice);
    await auth.refresh(pair.refresh);
    record();
    await expect(auth.refresh(pair.refresh, { ip: '10.6.6.6' })).rejects.toThrow();
    await expect(auth.refresh(pair.refresh)).rejects.toThrow();
    expect(fired()).toEqual({ refreshReuseDetected: 1, sessionRevoked: 1 });
    const { jti, sid } = decodePayload(pair.refresh);
    expect(seen.refreshReuseDetected[0]).toEqual({ userId: alice.id, sessionId: sid, jti, context: { ip: '10.6.6.6' } });
  });

  it('passwordChanged (and userTokensRevoked), once per change', async () => {
    await auth.changePassword(alice.id, 'pw', 'new password');
    expect(fired()).toEqual({ passwordChanged: 1, userTokensRevoked: 1 });
    expect(seen.passwordChanged[0]).toEqual({ userId: alice.id });
    expect(seen.userTokensRevoked[0]).toMatchObject({ userId: alice.id, reason: 'password_changed' });
  });

  it('a listener that throws or rejects changes nothing for the request, and is logged', async () => {
    const logged: unknown[] = [];
    const errors: string[] = [];
    const local = await testAuth({ logger: { error: (message: string) => errors.push(message), warn: () => {} } });
    await local.users.create({ username: 'bob', password: 'pw' });
    local.on('tokenObtained', () => {
      throw new Error('listener bug');
    });
    local.on('tokenObtained', async () => {
      throw new Error('async listener bug');
    });
    local.on('tokenObtained', (payload) => void logged.push(payload));
    await expect(local.obtainTokens('bob', 'pw')).resolves.toHaveProperty('access');
    expect(logged).toHaveLength(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual([
      'revocable: a "tokenObtained" listener failed',
      'revocable: a "tokenObtained" listener failed',
    ]);
    await local.close();
  });
});

describe('a throwing listener over HTTP', () => {
  it('does not change the response', async () => {
    const errors: string[] = [];
    const { app, auth: server } = await testServer({ logger: { error: (message: string) => errors.push(message), warn: () => {} } });
    await server.users.create({ username: 'carol', password: 'pw' });
    server.on('tokenObtained', () => {
      throw new Error('boom');
    });
    server.on('loginFailed', () => Promise.reject(new Error('boom')));
    const ok = await app.inject({ method: 'POST', url: '/api/token/', payload: { username: 'carol', password: 'pw' } });
    expect(ok.statusCode).toBe(200);
    expect(Object.keys(ok.json())).toEqual(['refresh', 'access']);
    const bad = await app.inject({ method: 'POST', url: '/api/token/', payload: { username: 'carol', password: 'x' } });
    expect(bad.statusCode).toBe(401);
    expect(bad.body).toBe('{"detail":"No active account found with the given credentials"}');
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual(['revocable: a "tokenObtained" listener failed', 'revocable: a "loginFailed" listener failed']);
    await app.close();
    await server.close();
  });
});
