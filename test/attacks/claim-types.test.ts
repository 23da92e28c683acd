/**
 * RFC 7519 §2 (NumericDate) and §4.1 (registered claims): claims of unexpected types, in tokens that
 * carry a real signature of the server's key (only the key's holder can make them, but the server must
 * still never answer 500 nor read a claim two ways). `exp` / `nbf` / `iat` that are strings, null,
 * infinite or beyond year 9999; `user_id` of every JSON type, huge, fractional, and digit strings;
 * `jti` missing or not a string. Each route answers what Simple JWT would, in the contract's shape:
 * protected routes 401 `Token contained no recognizable user identification` or `User not found`,
 * refresh `No active account found for the given token.`, verify 200 (it never reads the user), and so
 * on; the expectation is in each test's name. Run on SQLite and on PostgreSQL (PGlite), whose `bigint`
 * columns refuse what SQLite would store.
 */
import { describe, expect, it } from 'vitest';
import { jsonWithMembers } from './support.ts';
import {
  type Answer,
  type ForgeContext,
  INVALID,
  type Lab,
  type LabSpec,
  type Refusal,
  type Target,
  expectAccepted,
  expectRefused,
  present,
  show,
  useLabs,
} from './targets.ts';

const LABS: readonly LabSpec[] = [
  { name: 'HS256', algorithm: 'HS256' },
  { name: 'ES256', algorithm: 'ES256' },
  { name: 'HS256 PostgreSQL', algorithm: 'HS256', database: 'pglite:memory' },
];

/** What a route does with the token: refuse it (how), accept it, or something of its own. */
type Outcome =
  | { refused: Refusal; says: string }
  | { accepted: string }
  | { check: (lab: Lab, answer: Answer, before: number) => void; says: string };

interface ClaimCase {
  title: string;
  /** The token: a server-minted one with the claim changed, signed with the real key. */
  forge(context: ForgeContext): string;
  outcome(target: Target): Outcome;
}

const NO_USER_ID = 'Token contained no recognizable user identification';
const refusedEverywhere = (message: string) => (): Outcome => ({ refused: message, says: `refused: ${message}` });
/** A claim set by raw JSON text (for values JSON.stringify cannot write, such as 1e400). */
const rawClaim = (claim: string, rawValue: string) => ({ lab, base }: ForgeContext) => {
  const others = Object.entries(base.payload).filter(([name]) => name !== claim);
  const text = jsonWithMembers(others).slice(0, -1);
  return lab.realm.sign(`${text},${JSON.stringify(claim)}:${rawValue}}`, base.header);
};
const claim = (name: string, value: unknown) => ({ lab, base }: ForgeContext) => lab.realm.resign(base, { [name]: value });

// exp, nbf, iat: refused everywhere with `Token is invalid or expired` (a missing exp has its own message).
const TIME_CASES: ClaimCase[] = [
  ...(
    [
      ['exp', 'a numeric string', '"4102444800"'],
      ['exp', 'a non-numeric string', '"tomorrow"'],
      ['exp', 'null', 'null'],
      ['exp', 'true', 'true'],
      ['exp', 'a list', '[4102444800]'],
      ['exp', 'an object', '{"$date":4102444800}'],
      ['exp', 'negative', '-1'],
      ['exp', 'a float in the past', '1.5'],
      ['exp', '1e308 (beyond year 9999)', '1e308'],
      ['exp', '1e400 (Infinity once parsed)', '1e400'],
      ['exp', 'year 10000', '253402300800'],
      ['nbf', 'a numeric string', '"0"'],
      ['nbf', 'null', 'null'],
      ['nbf', '-1e400 (−Infinity once parsed)', '-1e400'],
      ['nbf', '-1e308', '-1e308'],
      ['iat', 'a numeric string', '"0"'],
      ['iat', 'null', 'null'],
      ['iat', 'an object', '{}'],
      ['iat', '-1e400 (−Infinity once parsed)', '-1e400'],
      ['iat', '-1e308', '-1e308'],
    ] as const
  ).map(([name, what, raw]): ClaimCase => ({
    title: `RFC 7519 §2: ${name} as ${what}`,
    forge: rawClaim(name, raw),
    outcome: refusedEverywhere(INVALID),
  })),
  { title: "RFC 7519 §4.1.4: exp missing", forge: claim('exp', undefined), outcome: refusedEverywhere("Token has no 'exp' claim") },
  // A NumericDate may have a fraction (RFC 7519 §2): accepted, and stored in whole milliseconds.
  {
    title: 'RFC 7519 §2: exp with a sub-millisecond fraction',
    forge: ({ lab, base }) => lab.realm.resign(base, { exp: Number(base.payload.exp) + 0.0001 }),
    outcome: () => ({ accepted: 'accepted' }),
  },
];

/** An access token without a session, so that logging it out blacklists the token itself (its exp stored). */
const SESSIONLESS_CASES: ClaimCase[] = [
  {
    title: 'RFC 7519 §2: an access token without sid, exp with a sub-millisecond fraction',
    forge: ({ lab, base }) => lab.realm.resign(base, { exp: Number(base.payload.exp) + 0.0001, sid: undefined }),
    outcome: () => ({ accepted: 'accepted' }),
  },
];

// jti: Simple JWT's `Token has no id` for a missing one; a jti must be a non-empty string (RFC 7519 §4.1.7).
const JTI_CASES: ClaimCase[] = (
  [
    ['missing', undefined],
    ['an empty string', ''],
    ['null', null],
    ['a number', 12345],
    ['true', true],
    ['a list', ['ab'.repeat(16)]],
    ['an object', { id: 'x' }],
  ] as const
).map(([what, value]) => ({
  title: `RFC 7519 §4.1.7: jti ${what}`,
  forge: claim('jti', value),
  outcome: refusedEverywhere('Token has no id'),
}));

/** user_id that names no one: what each route does with a valid token of no user. */
function unrecognizable(target: Target): Outcome {
  switch (target.kind) {
    case 'protected':
    case 'resource':
      return { refused: { body: { detail: NO_USER_ID, code: 'token_not_valid' } }, says: `401 "${NO_USER_ID}"` };
    case 'token':
      if (target.route === 'POST /api/token/verify/') return { accepted: '200 (verify never reads the user, as Simple JWT)' };
      if (target.route === 'POST /api/token/blacklist/') return { accepted: '200, blacklisted (blacklisting needs no user, as Simple JWT)' };
      return { refused: NO_USER_ID, says: `401 "${NO_USER_ID}"` };
    case 'revoke':
      return { accepted: '200, revoked (revocation needs no user)' };
    default:
      return { refused: INVALID, says: target.kind === 'introspect' ? '{"active":false}' : 'the login page' };
  }
}

/** user_id a valid type but no user: `User not found` where users are looked up. */
function notFound(value: unknown) {
  return (target: Target): Outcome => {
    switch (target.kind) {
      case 'protected':
        return { refused: { body: { detail: 'User not found', code: 'user_not_found' } }, says: '401 "User not found"' };
      case 'resource':
        return {
          says: '200, the stateless user is the claim (Simple JWT\'s JWTStatelessUserAuthentication)',
          check(_lab, answer) {
            expect(answer.status, show(answer)).toBe(200);
            expect(JSON.parse(answer.body)).toMatchObject({ id: value });
          },
        };
      case 'token':
        if (target.route === 'POST /api/token/verify/') return { accepted: '200 (verify never reads the user, as Simple JWT)' };
        if (target.route === 'POST /api/token/blacklist/') return { accepted: '200, blacklisted (blacklisting needs no user, as Simple JWT)' };
        return {
          refused: { body: { detail: 'No active account found for the given token.', code: 'no_active_account' } },
          says: '401 "No active account found for the given token."',
        };
      case 'revoke':
        return { accepted: '200, revoked (revocation needs no user)' };
      default:
        return { refused: INVALID, says: target.kind === 'introspect' ? '{"active":false}' : 'the login page' };
    }
  };
}

const USER_CASES: ClaimCase[] = [
  ...(
    [
      ['an object', { id: 1 }],
      ['an empty object', {}],
      ['a list', [1]],
      ['true', true],
      ['false', false],
      ['null', null],
      ['missing', undefined],
    ] as const
  ).map(([what, value]) => ({ title: `user_id ${what}`, forge: claim('user_id', value), outcome: unrecognizable })),
  ...(
    [
      ['a float (1.5)', 1.5, '1.5'],
      ['a huge number (1e308)', 1e308, '1e308'],
      ['2^64', 2 ** 64, '18446744073709551616'],
      ['2^53 + 1 (not a safe integer)', 2 ** 53, '9007199254740993'],
      ['negative (-1)', -1, '-1'],
      ['zero', 0, '0'],
      ['a number of no user (999999)', 999_999, '999999'],
      ['a digit string with a leading zero ("01")', '01', '"01"'],
      ['a digit string with a space (" 1")', ' 1', '" 1"'],
      ['a hexadecimal string ("0x1")', '0x1', '"0x1"'],
      ['an exponent string ("1e0")', '1e0', '"1e0"'],
      ['a decimal string ("1.0")', '1.0', '"1.0"'],
      ['an empty string', '', '""'],
    ] as const
  ).map(([what, value, raw]) => ({ title: `user_id ${what}`, forge: rawClaim('user_id', raw), outcome: notFound(value) })),
];

function run(labs: ReturnType<typeof useLabs>, c: ClaimCase, only: (target: Target) => boolean = () => true): void {
  for (const target of labs.targets.filter(only)) {
    const outcome = c.outcome(target);
    const says = 'accepted' in outcome ? outcome.accepted : outcome.says;
    it(`${c.title} → ${says} on ${target.name}`, async () => {
      const lab = labs.lab(target.lab);
      const base = await lab.fresh(target.takes);
      const token = c.forge({ lab, base, target });
      const before = lab.revocations();
      const answer = await present(lab, target, token);
      expect(answer.status, show(answer)).toBeLessThan(500);
      if ('refused' in outcome) expectRefused(lab, target, answer, outcome.refused, before);
      else if ('accepted' in outcome) expectAccepted(lab, target, answer, before);
      else outcome.check(lab, answer, before);
    });
  }
}

describe('RFC 7519 §2 / §4.1: claims of unexpected types', () => {
  const labs = useLabs(LABS);
  for (const c of [...TIME_CASES, ...JTI_CASES, ...USER_CASES]) run(labs, c);
  for (const c of SESSIONLESS_CASES) run(labs, c, (t) => t.takes === 'access');

  it('user_id "1", the digits of an integer user, is that user, as Simple JWT (Django) reads it: GET /api/me/ [HS256]', async () => {
    const lab = labs.lab('HS256');
    const target = labs.targets.find((t) => t.lab === 'HS256' && t.route === 'GET /api/me/') as Target;
    const token = lab.realm.resign(await lab.fresh('access'), { user_id: String(lab.user.id) });
    expectAccepted(lab, target, await present(lab, target, token), lab.revocations());
  });
});
