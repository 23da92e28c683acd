/**
 * RFC 8725 §3.10: `kid` is attacker input. Path traversal, SQL text, URLs, control characters, very
 * long and non-string kids, each over a real signature of the server's key (so only the kid is
 * wrong): refused, never a 500. A kid is only ever a key of the ring in memory: it is never a path,
 * a query or a URL. An unknown kid makes the auth server reread its stored keys, and the resource
 * server refetch the JWKS, at most once per cooldown: a flood of made-up kids is no lookup storm.
 */
import { describe, expect, it, vi } from 'vitest';
import { STANDARD_LABS, type Target, attack, expectRefused, present, useLabs } from './targets.ts';

const STRING_KIDS: readonly [string, string][] = [
  ['path traversal ../../dev/null', '../../dev/null'],
  ['path traversal ../../../../../../etc/passwd', '../../../../../../etc/passwd'],
  ['an absolute path /etc/passwd', '/etc/passwd'],
  ['a path with a NUL byte', '../../etc/passwd\u0000.pem'],
  ['a Windows path', '..\\..\\windows\\win.ini'],
  ["SQL text ' OR 1=1 --", "' OR 1=1 --"],
  ['SQL text that drops a table', "x'; DROP TABLE users; --"],
  ['SQL text in a UNION', "' UNION SELECT 'secret' AS signing_key --"],
  ['a URL', 'http://127.0.0.1:1/jwks.json'],
  ['a command', '$(touch /tmp/pwned)`id`'],
  ['a format string', '%s%s%s%n'],
  ['the empty string', ''],
  ['1,500 characters', 'k'.repeat(1500)],
  ['10,000 characters (a header over 2 kB)', 'k'.repeat(10_000)],
];

const OTHER_KIDS: readonly [string, unknown][] = [
  ['a number', 1],
  ['zero', 0],
  ['true', true],
  ['null', null],
  ['an array', ['kid']],
  ['an object', { $ne: null }],
];

describe('RFC 8725 §3.10: kid injection', () => {
  const labs = useLabs(STANDARD_LABS);
  for (const [name, kid] of [...STRING_KIDS, ...OTHER_KIDS]) {
    attack(labs, `RFC 8725 §3.10: kid ${name}, over a real signature`, ({ lab, base }) => lab.realm.resign(base, {}, { kid }));
  }
  attack(labs, "RFC 8725 §3.10: kid the server's own kid with a traversal suffix", ({ lab, base }) =>
    lab.realm.resign(base, {}, { kid: `${lab.realm.kid ?? 'hmac'}/../../etc/passwd` }),
  );
});

describe('RFC 8725 §3.10: a flood of made-up kids is no lookup storm', () => {
  // Labs of their own: no unknown kid was seen before the flood, so the first one does cause a lookup.
  const labs = useLabs(STANDARD_LABS);

  /** Sends `count` tokens with distinct made-up kids to every target of a lab; each must be refused. */
  async function flood(labName: string, count: number): Promise<number> {
    const started = performance.now();
    const lab = labs.lab(labName);
    const targets = labs.targets.filter((target: Target) => target.lab === labName);
    const base = await lab.fresh('access');
    for (let i = 0; i < count; i++) {
      const target = targets[i % targets.length] as Target;
      const token = lab.realm.resign(target.takes === 'access' ? base : await lab.fresh(target.takes), {}, { kid: `made-up-${i}` });
      const before = lab.revocations();
      expectRefused(lab, target, await present(lab, target, token), 'Token is invalid or expired', before);
    }
    return performance.now() - started;
  }

  for (const name of ['HS256', 'ES256']) {
    const jwksToo = name === 'ES256' ? ", and its resource server refetches the JWKS once per 30 s cooldown" : '';
    it(`RFC 8725 §3.10: 150 distinct made-up kids on every route reread the stored keys once per 5 s cooldown${jwksToo} [${name}]`, async () => {
      const lab = labs.lab(name);
      const jwks = lab.resource.server.jwks;
      const fetchesBefore = jwks?.fetches ?? 0;
      const rereads = vi.spyOn(lab.auth.store, 'listSigningKeys');
      let elapsedMs: number;
      try {
        elapsedMs = await flood(name, 150);
        // The reread runs in the background: let it finish before counting.
        await vi.waitFor(() => expect(rereads.mock.results.every((result) => result.type !== 'incomplete')).toBe(true));
        expect(rereads.mock.calls.length).toBeGreaterThanOrEqual(1);
        expect(rereads.mock.calls.length).toBeLessThanOrEqual(1 + Math.floor(elapsedMs / 5000));
      } finally {
        rereads.mockRestore();
      }
      if (jwks) {
        expect(jwks.fetches - fetchesBefore).toBeGreaterThanOrEqual(1);
        expect(jwks.fetches - fetchesBefore).toBeLessThanOrEqual(1 + Math.floor(elapsedMs / 30_000));
      }
    });
  }
});
