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
      const claims = payload as Payload;
      if (expectsAudience ? claims.aud === undefined : claims.aud !== undefined) throw invalid();
      const nowSeconds = nowMs / 1000;
      const { exp, nbf, iat } = claims;
      if (exp !== undefined && (typeof exp !== 'number' || nowSeconds >= exp + leeway)) throw invalid();
      if (nbf !== undefined && (typeof nbf !== 'number' || nowSeconds < nbf - leeway)) throw invalid();
      // PyJWT (so Simple JWT) refuses a token issued in the future, beyond the leeway.
      if (iat !== undefined && (typeof iat !== 'number' || iat > nowSeconds + leeway)) throw invalid();
      return claims;
    },
  };
}
