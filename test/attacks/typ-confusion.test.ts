/**
 * RFC 8725 §2.8 / §3.11 / §3.12, cross-JWT confusion: a token of one kind presented as another. Every
 * token here is one the server minted (or its claims signed again with the server's key under another
 * header `typ`): refresh as access and back, sliding where it is not allowed, and with
 * `accessTokenTyp: "at+jwt"` (RFC 9068 explicit typing) the header and the claims disagreeing.
 */
import { describe } from 'vitest';
import { type LabSpec, type Target, WRONG_TYPE, accepts, attack, useLabs } from './targets.ts';

const asAccess = (t: Target) => t.kind === 'protected' || t.kind === 'resource';
const asRefresh = (t: Target) => t.route === 'POST /api/token/refresh/' || t.route === 'POST /api/token/blacklist/' || t.kind === 'admin';
const asSliding = (t: Target) => t.route === 'POST /api/token/sliding/refresh/';
/** Routes that verify a token of any type (Simple JWT's `UntypedToken`): verify, introspection, revocation. */
const untyped = (t: Target) => t.route === 'POST /api/token/verify/' || t.kind === 'introspect' || t.kind === 'revoke';

const PLAIN: LabSpec = { name: 'HS256', algorithm: 'HS256' };
const AT_JWT: readonly LabSpec[] = [
  { name: 'HS256 at+jwt', algorithm: 'HS256', settings: { accessTokenTyp: 'at+jwt' } },
  { name: 'ES256 at+jwt', algorithm: 'ES256', settings: { accessTokenTyp: 'at+jwt' } },
];

describe('RFC 8725 §3.12: token_type confusion', () => {
  const labs = useLabs([PLAIN, ...AT_JWT]);
  attack(labs, 'RFC 8725 §3.12: a refresh token presented as an access token', async ({ lab }) => (await lab.fresh('refresh')).token, {
    only: asAccess,
    refusal: WRONG_TYPE,
  });
  attack(
    labs,
    "RFC 8725 §3.12: a sliding token presented as an access token (authTokenTypes ['access'])",
    async ({ lab }) => (await lab.fresh('sliding')).token,
    { only: asAccess, refusal: WRONG_TYPE },
  );
  attack(labs, 'RFC 8725 §3.12: an access token presented as a refresh token', async ({ lab }) => (await lab.fresh('access')).token, {
    only: asRefresh,
    refusal: WRONG_TYPE,
  });
  attack(labs, 'RFC 8725 §3.12: a sliding token presented as a refresh token', async ({ lab }) => (await lab.fresh('sliding')).token, {
    only: asRefresh,
    refusal: WRONG_TYPE,
  });
  attack(labs, 'RFC 8725 §3.12: an access token presented as a sliding token', async ({ lab }) => (await lab.fresh('access')).token, {
    only: asSliding,
    refusal: WRONG_TYPE,
  });
  attack(labs, 'RFC 8725 §3.12: a refresh token presented as a sliding token', async ({ lab }) => (await lab.fresh('refresh')).token, {
    only: asSliding,
    refusal: WRONG_TYPE,
  });
});

describe('RFC 8725 §3.11: explicit typing (accessTokenTyp "at+jwt") where header and claims disagree', () => {
  const labs = useLabs(AT_JWT);
  const onTyped = { only: (t: Target) => !untyped(t), refusal: WRONG_TYPE };
  const onUntyped = { only: untyped, refusal: WRONG_TYPE };

  for (const [where, options] of [
    ['', onTyped],
    [' on a route that takes any type', onUntyped],
  ] as const) {
    attack(labs, `RFC 8725 §3.11: a refresh token re-signed with typ "at+jwt"${where}`, async ({ lab }) =>
      lab.realm.resign(await lab.fresh('refresh'), {}, { typ: 'at+jwt' }),
      { ...options, only: (t) => options.only(t) && (t.takes === 'refresh' || untyped(t)) },
    );
    attack(labs, `RFC 8725 §3.11: a sliding token re-signed with typ "at+jwt"${where}`, async ({ lab }) =>
      lab.realm.resign(await lab.fresh('sliding'), {}, { typ: 'at+jwt' }),
      { ...options, only: (t) => options.only(t) && (asSliding(t) || untyped(t)) },
    );
    attack(labs, `RFC 8725 §3.11: an access token re-signed with typ "JWT"${where}`, async ({ lab }) =>
      lab.realm.resign(await lab.fresh('access'), {}, { typ: 'JWT' }),
      { ...options, only: (t) => options.only(t) && (asAccess(t) || untyped(t)) },
    );
    attack(labs, `RFC 8725 §3.11: an access token re-signed without typ${where}`, async ({ lab }) =>
      lab.realm.resign(await lab.fresh('access'), {}, { typ: undefined }),
      { ...options, only: (t) => options.only(t) && (asAccess(t) || untyped(t)) },
    );
  }
  attack(labs, 'RFC 8725 §3.11: an access token relabelled token_type "refresh", kept under typ "at+jwt"', async ({ lab }) =>
    lab.realm.resign(await lab.fresh('access'), { token_type: 'refresh' }),
    { only: (t) => asRefresh(t), refusal: WRONG_TYPE },
  );
  // The positive twins: RFC 9068 §2.1 media type spellings of the same typ.
  for (const typ of ['application/at+jwt', 'AT+JWT', 'Application/At+Jwt']) {
    accepts(labs, `RFC 9068 §2.1: an access token with typ ${JSON.stringify(typ)}`, async ({ lab, base }) => lab.realm.resign(base, {}, { typ }), {
      only: (t) => t.takes === 'access',
    });
  }
});

describe('RFC 8725 §3.12: sliding tokens where authTokenTypes allows them', () => {
  const labs = useLabs([{ name: 'HS256 sliding allowed', algorithm: 'HS256', settings: { authTokenTypes: ['access', 'sliding'] } }]);
  accepts(labs, "authTokenTypes ['access','sliding']: a sliding token", async ({ lab }) => (await lab.fresh('sliding')).token, {
    only: asAccess,
  });
  attack(
    labs,
    "RFC 8725 §3.12: a refresh token presented as an access token (authTokenTypes ['access','sliding'], both refusals listed)",
    async ({ lab }) => (await lab.fresh('refresh')).token,
    { only: asAccess, refusal: WRONG_TYPE },
  );
});
