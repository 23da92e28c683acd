import { describe, expect, it } from 'vitest';
import { decodePayload, testAuth } from './helpers.ts';

describe('sessions (library)', () => {
  it('listSessions, revokeSession and revokeOtherSessions', async () => {
    const auth = await testAuth();
    const alice = await auth.users.create({ username: 'alice', password: 'pw' });
    const first = await auth.issueTokens(alice, { userAgent: 'phone', ip: '10.0.0.1' });
    const second = await auth.issueTokens(alice, { userAgent: 'laptop' });
    const third = await auth.issueTokens(alice);
    const sid = (token: string) => String(decodePayload(token).sid);

    const listed = await auth.listSessions(alice.id);
    expect(listed.map((session) => session.id).sort()).toEqual([sid(first.access), sid(second.access), sid(third.access)].sort());
    expect(listed.find((session) => session.id === sid(first.access))).toMatchObject({ userAgent: 'phone', ip: '10.0.0.1' });
    expect(listed[0]!.createdAt).toBeInstanceOf(Date);

    expect(await auth.revokeSession(sid(third.access))).toBe(true);
    expect(await auth.revokeOtherSessions(alice.id, sid(first.access))).toBe(1);
    expect((await auth.listSessions(alice.id)).map((session) => session.id)).toEqual([sid(first.access)]);
    expect(() => auth.verifyAccess(second.access)).toThrow('Token is blacklisted');
    expect(() => auth.verifyAccess(first.access)).not.toThrow();

    await auth.revokeAllForUser(alice.id);
    expect(await auth.listSessions(alice.id)).toEqual([]);
    await auth.close();
  });

  it('records the user agent and IP only when the settings say so', async () => {
    const auth = await testAuth({ settings: { recordUserAgent: false, recordIp: false } });
    const alice = await auth.users.create({ username: 'alice', password: 'pw' });
    await auth.issueTokens(alice, { userAgent: 'phone', ip: '10.0.0.1' });
    expect(await auth.listSessions(alice.id)).toMatchObject([{ userAgent: null, ip: null }]);
    await auth.close();
  });
});
