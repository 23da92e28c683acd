import { type Clock, systemClock } from '../clock.ts';
import { StaleRevocationStateError, TokenRevokedError } from '../errors.ts';
import { createHeaderAuthenticator } from '../http/authenticate.ts';
import { thumbprint } from '../keys/jwk.ts';
import { KeyRing } from '../keys/ring.ts';
import { RevocationCache } from '../revocation/cache.ts';
import {
  type VerifierSettings,
  type VerifierSettingsInput,
  longestTokenLifetime,
  resolveVerifierSettings,
} from '../settings/settings.ts';
import { validateToken } from '../tokens/claims.ts';
import { type Payload, UnknownKeyIdError, createTokenDecoder } from '../tokens/decoder.ts';
import { type FeedClient, createFeedClient } from './feed-client.ts';
import { type JwksClient, createJwksClient } from './jwks-client.ts';
import { type RevocationSource, followRevocations } from './revocations.ts';

export type { FeedClient, RevocationSource };

/** Claims of a verified token. */
export type Claims = Payload;

/**
 * The user a stateless resource server knows (Simple JWT's `TokenUser`): built from the token's claims,
 * no database involved.
 */
export interface TokenUser {
  id: string | number;
  claims: Claims;
  isActive: true;
}

export interface ResourceServerOptions<U = TokenUser> {
  /** Simple JWT's settings, camelCased, as the auth server's: a secret, a public key, or `jwkUrl`. */
  settings: VerifierSettingsInput;
  /** Where revocations come from (see {@link RevocationSource}). */
  revocations: RevocationSource;
  /**
   * Database-backed authentication (Simple JWT's `JWTAuthentication`): the user the token names,
   * or undefined when there is none. Without it authentication is stateless
   * (`JWTStatelessUserAuthentication`): the user is the token's claims.
   */
  findUser?: (userId: string | number, claims: Claims) => Promise<U | undefined> | U | undefined;
  /** With `findUser`: whether the user may authenticate (default: `user.isActive !== false`). */
  isActive?: (user: U) => boolean;
  /** The JWKS cache: a token naming an unknown `kid` refetches at most once per `cooldownMs`. */
  jwks?: { cooldownMs?: number; refreshIntervalMs?: number; timeoutMs?: number };
  clock?: Clock;
  logger?: Pick<Console, 'error' | 'warn'>;
}

export interface ResourceServer<U = TokenUser> {
  readonly settings: VerifierSettings;
  /**
   * Verifies a token locally: signature, claims, type, and revocation from memory. A token naming a
   * key not yet fetched refetches the JWKS (within the cooldown) before it is refused.
   */
  verify(token: string, type?: 'access' | 'sliding'): Promise<Claims>;
  /** The same without waiting: a token naming an unfetched key is refused, and the fetch starts in the background. */
  verifySync(token: string, type?: 'access' | 'sliding'): Claims;
  /** Simple JWT's header authentication; throws the contract's errors (`errorReply` turns them into answers). */
  authenticate(headers: Record<string, string | string[] | undefined>): Promise<{ user: U; claims: Claims }>;
  /** The JWKS client, when keys come from `jwkUrl`. */
  readonly jwks: JwksClient | undefined;
  close(): Promise<void>;
}

/**
 * A resource server's token verification: local (no call to the auth server per request) and aware of
 * revocations within milliseconds. Resolves once the keys are fetched and the revocations committed so
 * far are loaded.
 */
export async function createResourceServer<U = TokenUser>(options: ResourceServerOptions<U>): Promise<ResourceServer<U>> {
  const settings = resolveVerifierSettings(options.settings);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? console;
  const constraints = { audience: settings.audience, issuer: settings.issuer };
  const horizonMs = (longestTokenLifetime(settings) + settings.leeway) * 1000;

  let jwks: JwksClient | undefined;
  let staticRing: KeyRing | undefined;
  if (settings.jwkUrl !== undefined) {
    jwks = createJwksClient({
      url: settings.jwkUrl,
      algorithm: settings.algorithm,
      constraints,
      cooldownMs: options.jwks?.cooldownMs ?? 30_000,
      refreshIntervalMs: options.jwks?.refreshIntervalMs ?? 600_000,
      timeoutMs: options.jwks?.timeoutMs ?? 5_000,
      logger,
    });
    try {
      await jwks.refresh();
    } catch (error) {
      jwks.close();
      throw error;
    }
  } else {
    const isHmac = settings.algorithm.startsWith('HS');
    const verifyingKey = isHmac ? settings.signingKey : settings.verifyingKey;
    staticRing = new KeyRing(
      [{ kid: isHmac ? undefined : thumbprint(verifyingKey), algorithm: settings.algorithm, verifyingKey }],
      constraints,
    );
  }
  const ring = () => (jwks ? jwks.ring : (staticRing as KeyRing));
  const decoder = createTokenDecoder({ ring, clock, leeway: settings.leeway, expectsAudience: settings.audience !== undefined });

  const cache = new RevocationCache(horizonMs);
  let follower: Awaited<ReturnType<typeof followRevocations>>;
  try {
    follower = await followRevocations(options.revocations, { cache, settings, clock, horizonMs, logger });
  } catch (error) {
    jwks?.close();
    throw error;
  }
  const pruneTimer = setInterval(() => cache.prune(clock() - settings.leeway * 1000), 60_000);
  pruneTimer.unref();

  const checked = (token: string, type: 'access' | 'sliding') => {
    const valid = validateToken(decoder, settings, token, type);
    if (!settings.failOpen && follower.isStale()) throw new StaleRevocationStateError();
    const level = cache.check(valid);
    if (level !== undefined) throw new TokenRevokedError(level);
    return valid.payload;
  };
  const verifySync = (token: string, type: 'access' | 'sliding' = 'access') => {
    try {
      return checked(token, type);
    } catch (error) {
      if (error instanceof UnknownKeyIdError) void jwks?.lookUp(error.kid);
      throw error;
    }
  };
  const verify = async (token: string, type: 'access' | 'sliding' = 'access') => {
    try {
      return checked(token, type);
    } catch (error) {
      if (!(error instanceof UnknownKeyIdError) || !jwks || !(await jwks.lookUp(error.kid))) throw error;
      return checked(token, type);
    }
  };

  const findUser =
    options.findUser ??
    ((userId: string | number, claims: Claims) => ({ id: userId, claims, isActive: true }) as TokenUser as U);
  const isActive = options.isActive ?? ((user: U) => (user as { isActive?: unknown }).isActive !== false);
  const authenticate = createHeaderAuthenticator<U>({ settings, verify, findUser, isActive });

  return {
    settings,
    verify,
    verifySync,
    authenticate,
    jwks,
    async close() {
      clearInterval(pruneTimer);
      jwks?.close();
      await follower.close();
    },
  };
}

export { createFeedClient };
