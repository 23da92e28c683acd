import { execFile } from 'node:child_process';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createAuth } from '../src/auth.ts';
import type { AuditRecord } from '../src/store/records.ts';
import { FAST_HASHING, SIGNING_KEY, clockAt, tempDir, testServer } from './helpers.ts';

/**
 * The audit trail: every revocation and failed login is written with its actor, reason, IP and time,
 * in the store and in the log; `revocable audit` reads it back.
 */

const json = { 'content-type': 'application/json' };

async function setup() {
  const clock = clockAt();
  const { auth, app } = await testServer({ clock });
  const alice = await auth.users.create({ username: 'alice', password: 'alice-password' });
  const login = async (ip = '198.51.100.4') => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/token/',
      headers: json,
      remoteAddress: ip,
      payload: { username: 'alice', password: 'alice-password' },
    });
    expect(response.statusCode).toBe(200);
    return response.json() as { access: string; refresh: string };
  };
  const trail = async () => {
    await auth.settled();
    return auth.audit.list({ limit: 100 });
  };
  return { auth, app, alice, login, trail, clock };
}

describe('the audit trail', () => {
  it('records a failed login with the username tried, the IP and no actor but anonymous', async () => {
    const { app, auth, trail } = await setup();
    await app.inject({
      method: 'POST',
      url: '/api/token/',
      headers: json,
      remoteAddress: '203.0.113.9',
      payload: { username: 'alice', password: 'wrong' },
    });
    const [line] = await trail();
    expect(line).toMatchObject({ action: 'login_failed', actor: 'anonymous', subject: 'alice', userId: null, ip: '203.0.113.9' });
    await app.close();
    await auth.close();
  });

  it('records logins and a logout-all by the user themself, with the caller as actor and its IP', async () => {
    const { app, auth, alice, login, trail } = await setup();
    const { access } = await login('198.51.100.4');
    const out = await app.inject({
      method: 'POST',
      url: '/api/logout-all/',
      headers: { authorization: `Bearer ${access}` },
      remoteAddress: '198.51.100.5',
    });
    expect(out.statusCode).toBe(205);
    const lines = await trail();
    expect(lines[0]).toMatchObject({
      action: 'user_tokens_revoked',
      actor: `user:${alice.id}`,
      userId: String(alice.id),
      reason: expect.any(String),
      ip: '198.51.100.5',
    });
    expect(lines[1]).toMatchObject({ action: 'login', actor: `user:${alice.id}`, userId: String(alice.id), ip: '198.51.100.4' });
    await app.close();
    await auth.close();
  });

  it('names the actor given to runAs (the admin page, a host application) and the reason given', async () => {
    const { app, auth, alice, login, trail } = await setup();
    const { access } = await login();
    await auth.runAs({ actor: 'staff:root', ip: '192.0.2.1' }, () => auth.revokeAllForUser(alice.id, { reason: 'stolen laptop' }));
    const [line] = await trail();
    expect(line).toMatchObject({ action: 'user_tokens_revoked', actor: 'staff:root', ip: '192.0.2.1', reason: 'stolen laptop' });
    expect(() => auth.verifyAccess(access)).toThrow();
    await app.close();
    await auth.close();
  });

  it('records a session ended with DELETE /api/sessions/{id}/ and a blacklisted refresh token', async () => {
    const { app, auth, alice, login, trail } = await setup();
    await login();
    const second = await login();
    const sessions = (await app.inject({ method: 'GET', url: '/api/sessions/', headers: { authorization: `Bearer ${second.access}` } })).json() as { id: string; current: boolean }[];
    const other = sessions.find((session) => !session.current) as { id: string };
    await app.inject({ method: 'DELETE', url: `/api/sessions/${other.id}/`, headers: { authorization: `Bearer ${second.access}` } });
    await app.inject({ method: 'POST', url: '/api/token/blacklist/', headers: json, payload: { refresh: second.refresh } });
    const lines = await trail();
    const revoked = lines.filter((line) => line.action === 'session_revoked');
    expect(revoked.map((line) => line.subject)).toContain(other.id);
    expect(revoked.find((line) => line.subject === other.id)).toMatchObject({ actor: `user:${alice.id}`, userId: String(alice.id) });
    expect(lines.find((line) => line.action === 'token_blacklisted')).toMatchObject({ actor: 'anonymous', userId: String(alice.id) });
    await app.close();
    await auth.close();
  });

  it('names the OAuth client that revoked a token through RFC 7009', async () => {
    const { app, auth, login, trail } = await setup();
    const { refresh } = await login();
    const client = await auth.clients.create('gateway');
    const basic = Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64');
    const revoked = await app.inject({
      method: 'POST',
      url: '/oauth/revoke',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${refresh}`,
    });
    expect(revoked.statusCode).toBe(200);
    const lines = await trail();
    expect(lines.find((line) => line.action === 'token_blacklisted')).toMatchObject({ actor: `client:${client.clientId}` });
    await app.close();
    await auth.close();
  });

  it('records reuse of a rotated refresh token as the system revoking the session', async () => {
    const rotating = await testServer({ settings: { rotateRefreshTokens: true }, clock: clockAt() });
    await rotating.auth.users.create({ username: 'alice', password: 'alice-password' });
    const tokens = (
      await rotating.app.inject({ method: 'POST', url: '/api/token/', headers: json, payload: { username: 'alice', password: 'alice-password' } })
    ).json() as { refresh: string };
    const refresh = (body: string) => rotating.app.inject({ method: 'POST', url: '/api/token/refresh/', headers: json, payload: { refresh: body } });
    expect((await refresh(tokens.refresh)).statusCode).toBe(200);
    expect((await refresh(tokens.refresh)).statusCode).toBe(401);
    await rotating.auth.settled();
    const lines = await rotating.auth.audit.list({ limit: 10 });
    expect(lines.find((line) => line.action === 'refresh_reuse_detected')).toMatchObject({ actor: 'system' });
    expect(lines.find((line) => line.action === 'session_revoked')).toMatchObject({ actor: 'system', reason: 'refresh_reuse' });
    await rotating.app.close();
    await rotating.auth.close();
  });

  it('hands every line to the audit log as it is written (the server logs them through pino)', async () => {
    const logged: AuditRecord[] = [];
    const auth = await createAuth({
      settings: { signingKey: SIGNING_KEY },
      database: ':memory:',
      passwordHashing: FAST_HASHING,
      auditLog: (record) => logged.push(record),
    });
    await auth.users.create({ username: 'bob', password: 'bob-password' });
    await expect(auth.obtainTokens('bob', 'nope', { ip: '192.0.2.77' })).rejects.toThrow();
    expect(logged).toEqual([expect.objectContaining({ action: 'login_failed', subject: 'bob', ip: '192.0.2.77', actor: 'library' })]);
    await auth.close();
  });

  it('counts logins and revocations per hour', async () => {
    const { auth, app, alice, login, clock } = await setup();
    await login();
    await login();
    clock.advance(60 * 60 * 1000);
    await login();
    await auth.revokeAllForUser(alice.id);
    await auth.settled();
    const counts = await auth.audit.hourly(clock() - 2 * 60 * 60 * 1000, ['login', 'user_tokens_revoked']);
    expect(counts.reduce((sum, row) => sum + (row.action === 'login' ? row.count : 0), 0)).toBe(3);
    expect(counts.filter((row) => row.action === 'login').map((row) => row.count).sort()).toEqual([1, 2]);
    expect(counts.find((row) => row.action === 'user_tokens_revoked')?.count).toBe(1);
    await app.close();
    await auth.close();
  });
});

describe('revocable audit', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  const run = promisify(execFile);
  const BIN = resolve(import.meta.dirname, '..', 'bin', 'revocable.js');
  const cli = async (...args: string[]) => {
    try {
      const { stdout } = await run(process.execPath, [BIN, ...args], { cwd: dir.path, env: { ...process.env, DATABASE_URL: 'sqlite:./audit.db' } });
      return { code: 0, stdout, stderr: '' };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return failed;
    }
  };

  it('lists what revoke-user wrote, with the operator as actor, filtered by user and time', async () => {
    await cli('create-user', 'alice', '--password', 'pw');
    await cli('create-user', 'bob', '--password', 'pw');
    await cli('revoke-user', 'alice', '--reason', 'stolen laptop');
    await cli('revoke-user', 'bob');
    const all = await cli('audit');
    expect(all.code).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z  user_tokens_revoked +  actor=cli:${userInfo().username}  user=1  subject=-  reason="stolen laptop"  ip=-$`));
    const alice = await cli('audit', '--user', 'alice', '--json');
    expect(alice.stdout.trim().split('\n').map((line) => JSON.parse(line).userId)).toEqual(['1']);
    expect((await cli('audit', '--since', '2999-01-01')).stdout).toBe('no audit lines match\n');
    expect((await cli('audit', '--since', '1h')).stdout.trim().split('\n')).toHaveLength(2);
    expect(await cli('audit', '--since', 'yesterday-ish')).toMatchObject({ code: 1 });
    expect(await cli('audit', '--user', 'nobody')).toMatchObject({ code: 1, stderr: 'revocable: no user named "nobody"\n' });
  });
});
