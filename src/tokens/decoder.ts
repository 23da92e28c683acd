import { isUtf8 } from 'node:buffer';
import type { Clock } from '../clock.ts';
import { TokenError, TokenMessages } from '../errors.ts';
import { type KeyRing, expired } from '../keys/ring.ts';

/** The decoded payload of a token whose signature, algorithm, audience, issuer and times are valid. */
export type Payload = Record<string, unknown>;

/** A token naming a key the ring does not hold. Refused like any invalid token; a verifier may refetch keys. */
export class UnknownKeyIdError extends TokenError {
  readonly kid: string;
  constructor(kid: string) {
    super(TokenMessages.invalidOrExpired);
    this.kid = kid;
  }
}

/** Tokens are a few hundred bytes; refusing huge ones early keeps garbage cheap. */
const MAX_TOKEN_LENGTH = 8192;

/**
 * The largest NumericDate accepted, in seconds: 9999-12-31T23:59:59Z, the last second Python's datetime
 * (so Simple JWT) can represent. Beyond it (1e308, or 1e400, which JSON.parse makes Infinity) a time is
 * no time: it would make a token immortal and, in milliseconds, overflow the stores' bigint columns.
 */
const MAX_NUMERIC_DATE = 253_402_300_799;

/** RFC 7519 §2: a NumericDate is a JSON number; here also a finite one within ±{@link MAX_NUMERIC_DATE}. */
function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Math.abs(value) <= MAX_NUMERIC_DATE;
}

/**
 * RFC 4648 §3.5: a base64url segment decodes to the bytes that encode back to it, and only then. A
 * segment with set padding bits in its last character (or any character outside the alphabet) would
 * otherwise be a second spelling of the same signature.
 */
function isCanonicalBase64url(segment: string): boolean {
  const tail = segment.length % 4;
  if (tail === 1 || !BASE64URL.test(segment)) return false;
  // The last character of a 2- or 3-character tail carries 4 or 2 padding bits, which must be zero.
  if (tail === 0) return true;
  const last = BASE64URL_ALPHABET.indexOf(segment[segment.length - 1] as string);
  return (last & (tail === 2 ? 0b1111 : 0b11)) === 0;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export interface TokenDecoder {
  /** Throws {@link TokenError} `Token is invalid or expired` for anything that is not a valid token. */
  decode(token: string): Payload;
  /** The header's `typ`, read without verifying (the signature is checked by `decode`). */
  typOf(token: string): string | undefined;
}

export interface DecoderOptions {
  ring: () => KeyRing;
  clock: Clock;
  /** Seconds past `exp` (and before `nbf`, `iat`) still accepted. */
  leeway: number;
  /** PyJWT refuses an audience the server does not expect, and a missing one it does. */
  expectsAudience: boolean;
}

/**
 * Verifies signature and claims against a key ring. Expiry and not-before are checked here, against the
 * injected clock and `leeway`, rather than by fast-jwt, so that tests control time and every failure
 * carries Simple JWT's single message.
 */
export function createTokenDecoder(options: DecoderOptions): TokenDecoder {
  const { clock, leeway, expectsAudience } = options;
  const invalid = () => new TokenError(TokenMessages.invalidOrExpired);
  const headerOf = (token: string) => {
    const dot = token.indexOf('.');
    return dot > 0 ? token.slice(0, dot) : '';
  };
  /** The payload segment of a token with three segments (fast-jwt has checked the count by then). */
  const payloadOf = (token: string) => token.slice(token.indexOf('.') + 1, token.lastIndexOf('.'));
  return {
    typOf(token) {
      const match = options.ring().match(headerOf(token));
      return match.kind === 'keys' ? match.typ : undefined;
    },
    decode(token) {
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw invalid();
      const match = options.ring().match(headerOf(token));
      if (match.kind === 'unknown-kid') throw new UnknownKeyIdError(match.kid);
      if (match.kind === 'invalid') throw invalid();
      if (!isCanonicalBase64url(token.slice(token.lastIndexOf('.') + 1))) throw invalid();
      const nowMs = clock();
      let payload: unknown;
      for (const key of match.keys) {
        if (expired(key, nowMs)) continue;
        try {
          payload = key.verify(token);
          break;
        } catch {
          // Another key of the same algorithm may have signed it (tokens without a kid).
        }
      }
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw invalid();
      // RFC 7519 §7.2 / RFC 8725 §3.7: the claims are UTF-8. fast-jwt decodes leniently (an invalid byte
      // becomes U+FFFD, so two claim values could read as one); PyJWT refuses such a token, and so do we.
      if (!isUtf8(Buffer.from(payloadOf(token), 'base64url'))) throw invalid();
      const claims = payload as Payload;
      if (expectsAudience ? claims.aud === undefined : claims.aud !== undefined) throw invalid();
      const nowSeconds = nowMs / 1000;
      const { exp, nbf, iat } = claims;
      if (exp !== undefined && (!isNumericDate(exp) || nowSeconds >= exp + leeway)) throw invalid();
      if (nbf !== undefined && (!isNumericDate(nbf) || nowSeconds < nbf - leeway)) throw invalid();
      // PyJWT (so Simple JWT) refuses a token issued in the future, beyond the leeway.
      if (iat !== undefined && (!isNumericDate(iat) || iat > nowSeconds + leeway)) throw invalid();
      return claims;
    },
  };
}
