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
 * (skipped when `expectedType` is undefined, as for `UntypedToken`).
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
  if (jti === undefined || jti === null || jti === '') throw new TokenError(TokenMessages.noId);
  const type = payload[settings.tokenTypeClaim];
  if (expectedType !== undefined) {
    if (type === undefined) throw new TokenError(TokenMessages.noType);
    if (type !== expectedType) throw new TokenError(TokenMessages.wrongType);
    // Explicit typing (RFC 9068 §4, RFC 8725 §3.11): an access token carries `accessTokenTyp` in its
    // header, and no other token does, so none can pass for another by its claims alone.
    if (settings.accessTokenTyp !== 'JWT' && !sameTyp(backend.typOf(token), settings.accessTokenTyp, expectedType === 'access')) {
      throw new TokenError(TokenMessages.wrongType);
    }
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
    issuedAtMs: typeof iat === 'number' ? iat * 1000 : 0,
    expiresAtMs: (exp as number) * 1000,
  };
}

/** Whether a header `typ` is (or, for `is` false, is not) `wanted`; `application/` prefixes and case aside. */
function sameTyp(actual: string | undefined, wanted: string, is: boolean): boolean {
  const normal = (typ: string | undefined) => (typ ?? '').toLowerCase().replace(/^application\//, '');
  return (normal(actual) === normal(wanted)) === is;
}
