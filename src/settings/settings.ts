import { type KeyObject, createPrivateKey, createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { SettingsError } from '../errors.ts';
import { privateKeyPem, publicKeyPem } from '../keys/jwk.ts';
import { parseDuration } from './duration.ts';

/** Algorithms revocable signs and verifies with. `none` is never among them. */
export const ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

/** The key type (or EC curve) each asymmetric algorithm signs with. */
const KEY_TYPES: Partial<Record<Algorithm, string[]>> = {
  RS256: ['rsa'],
  RS384: ['rsa'],
  RS512: ['rsa'],
  PS256: ['rsa', 'rsa-pss'],
  PS384: ['rsa', 'rsa-pss'],
  PS512: ['rsa', 'rsa-pss'],
  ES256: ['prime256v1'],
  ES384: ['secp384r1'],
  ES512: ['secp521r1'],
  EdDSA: ['ed25519', 'ed448'],
};

/** Whether a key is of the type (or EC curve) an asymmetric algorithm signs with. */
export function keyFitsAlgorithm(key: KeyObject, algorithm: Algorithm): boolean {
  const wanted = KEY_TYPES[algorithm];
  const actual = key.asymmetricKeyDetails?.namedCurve ?? key.asymmetricKeyType ?? '';
  return wanted?.includes(actual) ?? false;
}

/** The longest delay a Node.js timer takes (about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** RFC 7518 §3.2: an HMAC key at least as long as the hash output. */
const HMAC_MIN_KEY_BYTES: Partial<Record<Algorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 };

const duration = (positive: boolean) =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    const seconds = parseDuration(value);
    if (seconds === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (use seconds or a string like "5m")` });
      return z.NEVER;
    }
    if (positive ? seconds <= 0 : seconds < 0) {
      ctx.addIssue({ code: 'custom', message: `must be ${positive ? 'greater than zero' : 'zero or more'}` });
      return z.NEVER;
    }
    return seconds;
  });

const schema = z.strictObject({
  accessTokenLifetime: duration(true).default(300),
  refreshTokenLifetime: duration(true).default(86400),
  slidingTokenLifetime: duration(true).default(300),
  slidingTokenRefreshLifetime: duration(true).default(86400),
  rotateRefreshTokens: z.boolean().default(false),
  blacklistAfterRotation: z.boolean().default(false),
  updateLastLogin: z.boolean().default(false),
  algorithm: z.enum(ALGORITHMS).default('HS256'),
  signingKey: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .min(1, 'is required'),
  verifyingKey: z.string().default(''),
  audience: z.union([z.string(), z.array(z.string()).nonempty()]).optional(),
  issuer: z.string().optional(),
  leeway: duration(false).default(0),
  authHeaderTypes: z.array(z.string().regex(/^\S+$/, 'must not contain spaces')).nonempty().default(['Bearer']),
  authHeaderName: z.string().min(1).default('Authorization'),
  userIdField: z.enum(['id', 'username']).default('id'),
  userIdClaim: z.string().min(1).default('user_id'),
  tokenTypeClaim: z.string().min(1).default('token_type'),
  jtiClaim: z.string().min(1).default('jti'),
  checkUserIsActive: z.boolean().default(true),
  slidingTokenRefreshExpClaim: z.string().min(1).default('refresh_exp'),
  authTokenTypes: z
    .array(z.enum(['access', 'sliding']))
    .nonempty()
    .default(['access']),
  sessionIdClaim: z.string().min(1).default('sid'),
  acceptUntrackedRefreshTokens: z.boolean().default(false),
  reuseGraceSeconds: duration(false).default(0),
  sessionMaxLifetime: duration(true).nullable().default(null),
  recordUserAgent: z.boolean().default(true),
  recordIp: z.boolean().default(true),
  flushExpiredInterval: duration(false)
    .refine((seconds) => seconds * 1000 <= MAX_TIMER_MS, 'must be at most 24 days (or 0: off)')
    .default(0),
  accessTokenTyp: z
    .string()
    .regex(/^[\x21-\x7e]+$/, 'must be a media type such as "at+jwt"')
    .default('JWT'),
  revocationPollInterval: duration(false).default(0.25),
  maxRevocationStaleness: duration(true).default(5),
  failOpen: z.boolean().default(false),
  loginFailuresPerUsername: z.number().int().min(0).default(10),
  loginFailuresPerIp: z.number().int().min(0).default(100),
  loginFailureWindow: duration(true).default(900),
  loginAttemptsPerIp: z.number().int().min(0).default(1000),
  loginAttemptWindow: duration(true).default(60),
});

/** Settings as given: every key optional but `signingKey`; durations as seconds or strings like `"5m"`. */
export type SettingsInput = z.input<typeof schema>;

/** Settings after validation: every default filled in, every duration in seconds. */
export type Settings = Readonly<z.output<typeof schema>>;

/**
 * Validates settings once, at start-up. Throws a {@link SettingsError} naming the first bad setting:
 * an unknown key, a wrong type, a non-positive lifetime, an HMAC key shorter than its hash, a PEM key
 * that does not parse.
 */
export function resolveSettings(input: SettingsInput): Settings {
  const settings = parse(schema, input);
  checkKeys(settings);
  checkPolling(settings);
  return Object.freeze(settings);
}

/** A resource server's settings: the same, but it needs only what verifies (a secret, a public key, or a JWKS URL). */
const verifierSchema = schema.extend({
  signingKey: z.string().default(''),
  /** Simple JWT's `JWK_URL`: the auth server's JWK Set (`/.well-known/jwks.json`). */
  jwkUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
});

export type VerifierSettingsInput = z.input<typeof verifierSchema>;
export type VerifierSettings = Readonly<z.output<typeof verifierSchema>>;

/**
 * Validates a resource server's settings: an HMAC algorithm needs `signingKey` (the shared secret); an
 * asymmetric one needs `jwkUrl`, or `verifyingKey` (PEM or JWK) of the right type.
 */
export function resolveVerifierSettings(input: VerifierSettingsInput): VerifierSettings {
  const settings = parse(verifierSchema, input);
  const isHmac = settings.algorithm.startsWith('HS');
  if (settings.jwkUrl !== undefined) {
    if (isHmac) throw new SettingsError('jwkUrl', `publishes public keys only: ${settings.algorithm} needs signingKey`);
  } else if (isHmac) {
    if (!settings.signingKey) throw new SettingsError('signingKey', `is required for ${settings.algorithm} (the shared secret)`);
    checkKeys(settings);
  } else {
    let publicKey: KeyObject;
    try {
      settings.verifyingKey = publicKeyPem(settings.verifyingKey || settings.signingKey);
      publicKey = createPublicKey(settings.verifyingKey);
    } catch {
      throw new SettingsError('verifyingKey', `${settings.algorithm} needs a public key (PEM or JWK), or jwkUrl`);
    }
    const wanted = KEY_TYPES[settings.algorithm];
    const actual = publicKey.asymmetricKeyDetails?.namedCurve ?? publicKey.asymmetricKeyType ?? '';
    if (wanted && !wanted.includes(actual)) {
      throw new SettingsError('verifyingKey', `${settings.algorithm} needs a ${wanted.join(' or ')} key, got ${actual || 'another kind'}`);
    }
    settings.signingKey = '';
  }
  checkPolling(settings);
  return Object.freeze(settings);
}

function parse<S extends z.ZodType>(shape: S, input: unknown): z.output<S> {
  const parsed = shape.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      throw new SettingsError(issue.keys[0] ?? '?', 'unknown setting');
    }
    const setting = issue.path.length ? issue.path.join('.') : '(settings)';
    throw new SettingsError(setting, issue.message);
  }
  return parsed.data;
}

function checkPolling(settings: { revocationPollInterval: number; maxRevocationStaleness: number }): void {
  if (settings.revocationPollInterval > 0 && settings.revocationPollInterval * 2 > settings.maxRevocationStaleness) {
    throw new SettingsError(
      'revocationPollInterval',
      `must be at most half of maxRevocationStaleness (${settings.maxRevocationStaleness} s), so that one failed read does not make the instance stale`,
    );
  }
}

function checkKeys(settings: z.output<typeof schema>): void {
  const minBytes = HMAC_MIN_KEY_BYTES[settings.algorithm];
  if (minBytes !== undefined) {
    const bytes = Buffer.byteLength(settings.signingKey, 'utf8');
    if (bytes < minBytes) {
      throw new SettingsError(
        'signingKey',
        `${settings.algorithm} needs a key of at least ${minBytes} bytes, got ${bytes}`,
      );
    }
    if (settings.verifyingKey && settings.verifyingKey !== settings.signingKey) {
      throw new SettingsError('verifyingKey', `must be empty or equal to signingKey for ${settings.algorithm}`);
    }
    return;
  }
  let privateKey: KeyObject;
  try {
    // PEM or a JWK (RFC 7517) as JSON text; kept as PEM, which is what the signer takes.
    settings.signingKey = privateKeyPem(settings.signingKey);
    privateKey = createPrivateKey(settings.signingKey);
  } catch {
    throw new SettingsError('signingKey', `${settings.algorithm} needs a private key (PEM or JWK)`);
  }
  const wanted = KEY_TYPES[settings.algorithm];
  const actual = privateKey.asymmetricKeyDetails?.namedCurve ?? privateKey.asymmetricKeyType ?? '';
  if (wanted && !wanted.includes(actual)) {
    throw new SettingsError('signingKey', `${settings.algorithm} needs a ${wanted.join(' or ')} key, got ${actual || 'another kind'}`);
  }
  try {
    // Left empty, the public key is the private key's own.
    settings.verifyingKey = publicKeyPem(settings.verifyingKey || settings.signingKey);
  } catch {
    throw new SettingsError('verifyingKey', `${settings.algorithm} needs a public key (PEM or JWK)`);
  }
}

/** The longest time any token can live: what the revocation cache must remember. */
export function longestTokenLifetime(settings: Settings | VerifierSettings): number {
  return Math.max(
    settings.accessTokenLifetime,
    settings.refreshTokenLifetime,
    settings.slidingTokenLifetime,
    settings.slidingTokenRefreshLifetime,
  );
}
