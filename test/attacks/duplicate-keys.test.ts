/**
 * RFC 7515 §5.2 / RFC 7519 §4 (and RFC 8725 §2.6): duplicate member names in the header or the claims.
 * The RFCs let a verifier either reject such a token or take the lexically last member. revocable takes
 * the last, everywhere: its key ring reads the header, and fast-jwt reads header and claims, with
 * `JSON.parse`, which keeps the last member, as Python's `json` (so PyJWT and Simple JWT) does. One reading
 * throughout, so no part of the server can see the first member while another sees the last.
 *
 * Only the key's holder can sign such a token (the server never writes one), so each token here carries
 * a real signature of the server's key. The tests show it is read exactly as the last member says, never
 * as the first: accepted when the last member is the right one, refused (or, for a user, looked up as
 * the last one) when the first is.
 */
import { describe, expect, it } from 'vitest';
import { type Json, jsonWithMembers } from './support.ts';
import { STANDARD_LABS, type Target, WRONG_TYPE, accepts, attack, present, show, useLabs } from './targets.ts';

/** JSON text of `object` with `name` written twice: `first` at the start, `last` at the end (its other members between). */
function twice(object: Json, name: string, first: unknown, last: unknown): string {
  const others = Object.entries(object).filter(([member]) => member !== name);
  return jsonWithMembers([[name, first], ...others, [name, last]]);
}

const otherType = (type: unknown) => (type === 'access' ? 'refresh' : 'access');
const typed = (t: Target) => !(t.route === 'POST /api/token/verify/' || t.kind === 'introspect' || t.kind === 'revoke');
const NO_SUCH_USER = 999_999;

describe('RFC 7515 §5.2: duplicate members are read as the last one', () => {
  const labs = useLabs(STANDARD_LABS);

  // Header: alg.
  accepts(labs, 'RFC 7515 §5.2: two alg members, "none" first and the real algorithm last (read as the last)', ({ lab, base }) =>
    lab.realm.sign(base.payload, twice(base.header, 'alg', 'none', base.header.alg)),
  );
  attack(labs, 'RFC 7515 §5.2: two alg members, the real algorithm first and "none" last (read as the last)', ({ lab, base }) =>
    lab.realm.sign(base.payload, twice(base.header, 'alg', base.header.alg, 'none')),
  );
  attack(labs, 'RFC 7515 §5.2: two alg members, the real algorithm first and HS512 last (read as the last)', ({ lab, base }) =>
    lab.realm.sign(base.payload, twice(base.header, 'alg', base.header.alg, 'HS512')),
  );
  // Header: kid (the ES256 server's tokens carry one).
  const keyed = (t: Target) => t.lab === 'ES256';
  accepts(
    labs,
    'RFC 7515 §5.2: two kid members, a made-up one first and the real one last (read as the last)',
    ({ lab, base }) => lab.realm.sign(base.payload, twice(base.header, 'kid', 'made-up', base.header.kid)),
    { only: keyed },
  );
  attack(
    labs,
    'RFC 7515 §5.2: two kid members, the real one first and a made-up one last (read as the last)',
    ({ lab, base }) => lab.realm.sign(base.payload, twice(base.header, 'kid', base.header.kid, 'made-up')),
    { only: keyed },
  );

  // Claims: token_type.
  accepts(labs, 'RFC 7519 §4: two token_type members, another type first and the real one last (read as the last)', ({ lab, base }) =>
    lab.realm.sign(twice(base.payload, 'token_type', otherType(base.payload.token_type), base.payload.token_type), base.header),
  );
  attack(
    labs,
    'RFC 7519 §4: two token_type members, the real type first and another last (read as the last)',
    ({ lab, base }) => lab.realm.sign(twice(base.payload, 'token_type', base.payload.token_type, otherType(base.payload.token_type)), base.header),
    { only: typed, refusal: WRONG_TYPE },
  );
  // Claims: exp.
  accepts(labs, 'RFC 7519 §4: two exp members, a past one first and the real one last (read as the last)', ({ lab, base }) =>
    lab.realm.sign(twice(base.payload, 'exp', 0, base.payload.exp), base.header),
  );
  attack(labs, 'RFC 7519 §4: two exp members, the real one first and a past one last (read as the last)', ({ lab, base }) =>
    lab.realm.sign(twice(base.payload, 'exp', base.payload.exp, 0), base.header),
  );
  // Claims: user_id.
  accepts(labs, 'RFC 7519 §4: two user_id members, an unknown user first and the real one last (read as the last)', ({ lab, base }) =>
    lab.realm.sign(twice(base.payload, 'user_id', NO_SUCH_USER, base.payload.user_id), base.header),
  );
  for (const name of ['HS256', 'ES256']) {
    it(`RFC 7519 §4: two user_id members, the real user first and an unknown user last: GET /api/me/ looks up the last (User not found) [${name}]`, async () => {
      const lab = labs.lab(name);
      const base = await lab.fresh('access');
      const token = lab.realm.sign(twice(base.payload, 'user_id', base.payload.user_id, NO_SUCH_USER), base.header);
      const target = labs.targets.find((t) => t.lab === name && t.route === 'GET /api/me/') as Target;
      const answer = await present(lab, target, token);
      expect({ status: answer.status, body: answer.body }, show(answer)).toEqual({
        status: 401,
        body: JSON.stringify({ detail: 'User not found', code: 'user_not_found' }),
      });
    });
    it(`RFC 7519 §4: two user_id members, the real user first and another last: the resource server's user is the last [${name}]`, async () => {
      const lab = labs.lab(name);
      const base = await lab.fresh('access');
      const token = lab.realm.sign(twice(base.payload, 'user_id', base.payload.user_id, NO_SUCH_USER), base.header);
      const target = labs.targets.find((t) => t.lab === name && t.kind === 'resource') as Target;
      const answer = await present(lab, target, token);
      // Stateless authentication (Simple JWT's JWTStatelessUserAuthentication): the user is the claims.
      expect(answer.status, show(answer)).toBe(200);
      expect((JSON.parse(answer.body) as Json).id).toBe(NO_SUCH_USER);
    });
  }
});
