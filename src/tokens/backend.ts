import { createSigner, createVerifier } from 'fast-jwt';
import type { Clock } from '../clock.ts';
import { TokenError, TokenMessages } from '../errors.ts';
import type { Settings } from '../settings/settings.ts';
import { SettingsError } from '../errors.ts';
import { publicJwk } from './jwks.ts';

/** The decoded payload of a token whose signature, algorithm, audience, issuer and times are valid. */
export type Payload = Record<string, unknown>;

/** Signs payloads and decodes tokens with one pinned algorithm (Simple JWT's `TokenBackend`). */
export interface TokenBackend {
  /** Signs; `typ` is the header's type (`JWT` unless the token is an access token under `accessTokenTyp`). */
  sign(payload: Payload, typ?: string): string;
  /** The header's `typ`, read without verifying (the signature is checked by `decode`). */
  typOf(token: string): string | undefined;
  /** Throws {@link TokenError} `Token is invalid or expired` for anything that is not a valid token. */
  decode(token: string): Payload;
}

/** Tokens are a few hundred bytes; refusing huge ones early keeps garbage cheap. */
const MAX_TOKEN_LENGTH = 8192;

/**
 * Builds the signer and verifier once. Expiry and not-before are checked here, against the injected
 * clock and `leeway`, rather than by fast-jwt, so that tests control time and every failure carries
 * Simple JWT's single message.
 */
export function createTokenBackend(settings: Settings, clock: Clock): TokenBackend {
  const isHmac = settings.algorithm.startsWith('HS');
  const verifyingKey = isHmac ? settings.signingKey : settings.verifyingKey;
  // Asymmetric tokens name their key (RFC 7638 thumbprint); HMAC ones keep Simple JWT's bare header.
  const kid = isHmac ? undefined : keyed('verifyingKey', settings, () => publicJwk(settings)?.kid);
  const signerFor = (typ: string) =>
    keyed('signingKey', settings, () =>
      createSigner({
        key: settings.signingKey,
        algorithm: settings.algorithm,
        ...(kid !== undefined ? { kid } : {}),
        ...(typ !== 'JWT' ? { header: { alg: settings.algorithm, typ } } : {}),
        ...(settings.audience !== undefined ? { aud: settings.audience } : {}),
        ...(settings.issuer !== undefined ? { iss: settings.issuer } : {}),
      }),
    );
  const sign = signerFor('JWT');
  const signAccess = settings.accessTokenTyp === 'JWT' ? sign : signerFor(settings.accessTokenTyp);
  const verify = keyed(isHmac ? 'signingKey' : 'verifyingKey', settings, () =>
    createVerifier({
      key: verifyingKey,
      algorithms: [settings.algorithm],
      ignoreExpiration: true,
      ignoreNotBefore: true,
      ...(settings.audience !== undefined ? { allowedAud: settings.audience } : {}),
      ...(settings.issuer !== undefined ? { allowedIss: settings.issuer, requiredClaims: ['iss'] } : {}),
    }),
  );
  const leeway = settings.leeway;
  const expectsAudience = settings.audience !== undefined;
  const invalid = () => new TokenError(TokenMessages.invalidOrExpired);

  selfTest(settings, sign, verify);
  return {
    sign: (payload, typ) => (typ !== undefined && typ === settings.accessTokenTyp ? signAccess(payload) : sign(payload)),
    typOf(token) {
      try {
        const header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'));
        return typeof header?.typ === 'string' ? header.typ : undefined;
      } catch {
        return undefined;
      }
    },
    decode(token) {
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw invalid();
      let payload: Payload;
      try {
        payload = verify(token);
      } catch {
        throw invalid();
      }
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw invalid();
      // PyJWT refuses an audience the server does not expect, and a missing one it does.
      if (expectsAudience ? payload.aud === undefined : payload.aud !== undefined) throw invalid();
      const nowSeconds = clock() / 1000;
      const { exp, nbf, iat } = payload;
      if (exp !== undefined && (typeof exp !== 'number' || nowSeconds >= exp + leeway)) throw invalid();
      if (nbf !== undefined && (typeof nbf !== 'number' || nowSeconds < nbf - leeway)) throw invalid();
      // PyJWT (so Simple JWT) refuses a token issued in the future, beyond the leeway.
      if (iat !== undefined && (typeof iat !== 'number' || iat > nowSeconds + leeway)) throw invalid();
      return payload;
    },
  };
}

/** Builds a signer or verifier; a key fast-jwt refuses for the algorithm becomes a SettingsError naming it. */
function keyed<T>(setting: 'signingKey' | 'verifyingKey', settings: Settings, build: () => T): T {
  try {
    return build();
  } catch (error) {
    throw new SettingsError(setting, `does not fit ${settings.algorithm}: ${(error as Error).message}`);
  }
}

/**
 * Signs and verifies one probe at start-up: a key of the wrong type for the algorithm (an RSA key for
 * ES256) or a verifying key that is not the signing key's pair is refused now, naming the setting,
 * rather than failing every request later.
 */
function selfTest(settings: Settings, sign: (payload: Payload) => string, verify: (token: string) => unknown): void {
  let probe: string;
  try {
    probe = sign({ probe: true });
  } catch (error) {
    throw new SettingsError('signingKey', `cannot sign with ${settings.algorithm}: ${(error as Error).message}`);
  }
  try {
    verify(probe);
  } catch {
    throw new SettingsError('verifyingKey', `does not verify what signingKey signs with ${settings.algorithm}`);
  }
}
