import { TokenError, TokenMessages } from '../errors.ts';
import type { Settings } from '../settings/settings.ts';
import type { TokenType } from '../store/records.ts';
import type { Payload, TokenDecoder } from './decoder.ts';

/** The settings token validation reads. */
export type ClaimSettings = Pick<Settings, 'jtiClaim' | 'tokenTypeClaim' | 'accessTokenTyp' | 'userIdClaim' | 'sessionIdClaim'>;

/** Claim carrying the user's revocation generation at minting (see docs/security.md). */
export const GENERATION_CLAIM = 'gen';

/** A token whose signature and claims are valid; revocation is checked separately. */
export interface ValidToken {
  payload: Payload;
  type: string | undefined;
  jti: string;
  /** The user id claim as it appears in the token (a number for integer keys), or undefined. */
  userId: string | number | undefined;
  /** The token family: the `sid` claim, or for a refresh/sliding token minted elsewhere its own jti. */
  sessionId: string | undefined;
  /** The user's revocation generation when the token was minted; undefined for tokens minted elsewhere. */
  generation: number | undefined;
  /** `iat` in milliseconds (0 when absent). */
  issuedAtMs: number;
  expiresAtMs: number;
}

/**
 * Checks a token the way Simple JWT's `Token.verify` does, in its order: signature and times
 * (`Token is invalid or expired`), then `exp` present, then `jti` present, then the type
 * (skipped when `expectedType` is undefined, as for `UntypedToken`), then, under `accessTokenTyp`, that
 * the header's `typ` agrees with the type (checked for untyped tokens too).
 */
export function validateToken(
  backend: TokenDecoder,
  settings: ClaimSettings,
  token: string,
  expectedType: TokenType | undefined,
): ValidToken {
  const payload = backend.decode(token);
  const exp = payload.exp;
  if (exp === undefined) throw new TokenError(TokenMessages.noExp);
  const jti = payload[settings.jtiClaim];
  // A jti is a string (RFC 7519 §4.1.7); anything else is no id, as a missing one is. String() of an object
  // may throw ({"toString":1}) or collide (["x"] is "x"), and the number 1 would be the id "1".
  if (typeof jti !== 'string' || jti === '') throw new TokenError(TokenMessages.noId);
  const type = payload[settings.tokenTypeClaim];
  if (expectedType !== undefined) {
    if (type === undefined) throw new TokenError(TokenMessages.noType);
    if (type !== expectedType) throw new TokenError(TokenMessages.wrongType);
  }
  // Explicit typing (RFC 9068 §4, RFC 8725 §3.11): an access token carries `accessTokenTyp` in its
  // header, and no other token does, so none can pass for another by its claims alone. Checked on the
  // routes that take any type too (verify, introspection, revocation, the admin's session): a token whose
  // header and claims disagree is no token of ours.
  if (settings.accessTokenTyp !== 'JWT' && !sameTyp(backend.typOf(token), settings.accessTokenTyp, type === 'access')) {
    throw new TokenError(TokenMessages.wrongType);
  }
  const rawUserId = payload[settings.userIdClaim];
  const userId = typeof rawUserId === 'number' || typeof rawUserId === 'string' ? rawUserId : undefined;
  const sid = payload[settings.sessionIdClaim];
  const typeName = typeof type === 'string' ? type : undefined;
  const sessionId =
    typeof sid === 'string' ? sid : typeName === 'refresh' || typeName === 'sliding' ? String(jti) : undefined;
  const generation = payload[GENERATION_CLAIM];
  const iat = payload.iat;
  return {
    payload,
    type: typeName,
    jti: String(jti),
    userId,
    sessionId,
    generation: typeof generation === 'number' && Number.isInteger(generation) ? generation : undefined,
    // Whole milliseconds (a NumericDate may have a fraction; the stores keep bigint milliseconds).
    issuedAtMs: typeof iat === 'number' ? Math.floor(iat * 1000) : 0,
    expiresAtMs: Math.ceil((exp as number) * 1000),
  };
}

/**
 * The integer primary key a user id claim names (`userIdField: 'id'`), or undefined when it names none:
 * a JSON number that is a safe integer, or the canonical decimal digits of one (`"42"`, as Django reads
 * it). Not `"042"`, `" 42"`, `"0x2a"`, `"4.2e1"`, `1.5` or `1e308`: one user has one spelling, the one
 * the revocation cache is keyed by (`String(claim)`), so no other spelling can escape a revoke-all, and
 * no value a database's integer column refuses ever reaches a query.
 */
export function integerUserId(claim: string | number): number | undefined {
  const id = typeof claim === 'number' ? claim : /^(0|[1-9][0-9]*)$/.test(claim) ? Number(claim) : Number.NaN;
  return Number.isSafeInteger(id) ? id : undefined;
}

/** Whether a header `typ` is (or, for `is` false, is not) `wanted`; `application/` prefixes and case aside. */
function sameTyp(actual: string | undefined, wanted: string, is: boolean): boolean {
  const normal = (typ: string | undefined) => (typ ?? '').toLowerCase().replace(/^application\//, '');
  return (normal(actual) === normal(wanted)) === is;
}
