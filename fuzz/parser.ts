/**
 * Fuzz targets for the token parser: `createTokenBackend(...).decode`, `validateToken`, and a resource
 * server's `verifySync`, each under two verifiers (HS256 with Simple JWT's defaults; ES256 with a `kid`,
 * an audience, an issuer, `accessTokenTyp: 'at+jwt'` and leeway). Whatever the input, each must either
 * answer a well-formed result or throw the library's own token errors: never anything else.
 */
import fc from 'fast-check';
import { type Auth, createAuth } from '../src/auth.ts';
import { StaleRevocationStateError, TokenError } from '../src/errors.ts';
import { type ResourceServer, createResourceServer } from '../src/resource/resource-server.ts';
import { type Settings, type SettingsInput, resolveSettings } from '../src/settings/settings.ts';
import type { TokenType } from '../src/store/records.ts';
import { type TokenBackend, createTokenBackend } from '../src/tokens/backend.ts';
import { validateToken } from '../src/tokens/claims.ts';
import { mintToken } from '../src/tokens/mint.ts';
import type { Outcome, Target } from './target.ts';
import { FAST_HASHING, FUZZ_SIGNING_KEY, WRONG_SIGNING_KEY, quietLogger } from './setup.ts';
import { type BaseKind, type TokenKit, type TokenRecipe, ecKeyPair, ecSignature, hmacSignature, materializeToken, tokenRecipe } from './tokens.ts';

const EC = ecKeyPair();
const WRONG_EC = ecKeyPair();

interface Variant {
  name: string;
  settings: Settings;
  backend: TokenBackend;
  kit: TokenKit;
}

const VARIANT_SETTINGS: readonly [string, SettingsInput, ReturnType<typeof hmacSignature>][] = [
  ['HS256', { signingKey: FUZZ_SIGNING_KEY, authTokenTypes: ['access', 'sliding'] }, hmacSignature(FUZZ_SIGNING_KEY, WRONG_SIGNING_KEY)],
  [
    'ES256',
    {
      algorithm: 'ES256',
      signingKey: EC.privateKey,
      verifyingKey: EC.publicKey,
      audience: ['fuzz-api', 'other-api'],
      issuer: 'https://auth.fuzz.example',
      accessTokenTyp: 'at+jwt',
      leeway: 5,
      authTokenTypes: ['access', 'sliding'],
    },
    ecSignature(EC, WRONG_EC.privateKey),
  ],
];

/** Sessions and users a variant's tokens name: user numbers index into these. */
export interface Principals {
  userIds: (string | number)[];
  sessionIds: string[];
  generations: number[];
}

const DEFAULT_PRINCIPALS: Principals = { userIds: [1, 2, 3, 4], sessionIds: ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32), 'd'.repeat(32)], generations: [0, 0, 0, 0] };

function makeVariant(name: string, input: SettingsInput, signature: TokenKit['signature'], principals = DEFAULT_PRINCIPALS): Variant {
  const settings = resolveSettings(input);
  const backend = createTokenBackend(settings, Date.now);
  const kid = backend.ring.keys[0]?.kid;
  const pick = <T>(list: T[], i: number) => list[i % list.length] as T;
  const kit: TokenKit = {
    algorithm: settings.algorithm,
    header(kind) {
      const typ = kind === 'access' ? settings.accessTokenTyp : 'JWT';
      return kid === undefined ? { alg: settings.algorithm, typ } : { alg: settings.algorithm, typ, kid };
    },
    claims(kind, user, now) {
      const lifetime = kind === 'access' ? settings.accessTokenLifetime : kind === 'refresh' ? settings.refreshTokenLifetime : settings.slidingTokenLifetime;
      return {
        token_type: kind,
        exp: now + lifetime,
        iat: now,
        jti: `${'f'.repeat(24)}${String(user).padStart(8, '0')}`,
        user_id: pick(principals.userIds, user),
        sid: pick(principals.sessionIds, user),
        gen: pick(principals.generations, user),
        ...(kind === 'sliding' ? { refresh_exp: now + settings.slidingTokenRefreshLifetime } : {}),
        ...(settings.audience !== undefined ? { aud: [settings.audience].flat()[0] } : {}),
        ...(settings.issuer !== undefined ? { iss: settings.issuer } : {}),
      };
    },
    signature,
    valid(kind, user) {
      const nowMs = Date.now();
      const now = Math.floor(nowMs / 1000);
      return mintToken(backend, settings, {
        type: kind,
        userId: pick(principals.userIds, user),
        sessionId: pick(principals.sessionIds, user),
        generation: pick(principals.generations, user),
        nowMs,
        ...(kind === 'sliding' ? { extra: { refresh_exp: now + settings.slidingTokenRefreshLifetime } } : {}),
      }).token;
    },
  };
  return { name, settings, backend, kit };
}

/** What each parser target draws: a variant, a token, and (for validateToken / verifySync) the type expected. */
export interface ParserInput {
  variant: number;
  token: TokenRecipe;
  expected: TokenType | undefined;
}

const parserInput: fc.Arbitrary<ParserInput> = fc.record({
  variant: fc.nat({ max: 1 }),
  token: tokenRecipe,
  expected: fc.constantFrom<TokenType | undefined>(undefined, 'access', 'refresh', 'sliding'),
});

/** Refused with the library's token error: the outcome is its message. */
function refused(error: unknown, also: (error: unknown) => boolean = () => false): Outcome {
  if (error instanceof TokenError || also(error)) return { label: `refused: ${(error as TokenError).detail}` };
  return { label: 'CRASH', problem: `threw ${describeError(error)}` };
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}${error.stack ? `\n${error.stack.split('\n').slice(1, 6).join('\n')}` : ''}`;
  return `a non-Error: ${String(error)}`;
}

const isPlainObject = (value: unknown) => value !== null && typeof value === 'object' && !Array.isArray(value);

export function decodeTarget(): Target<ParserInput> {
  const variants = VARIANT_SETTINGS.map(([name, input, signature]) => makeVariant(name, input, signature));
  return {
    name: 'decode',
    arbitrary: parserInput,
    describe: (input) => materializeToken(variants[input.variant]!.kit, input.token),
    async run(input) {
      const variant = variants[input.variant]!;
      const token = materializeToken(variant.kit, input.token);
      try {
        const payload = variant.backend.decode(token);
        if (!isPlainObject(payload)) return { label: 'MALFORMED', problem: `decode answered a non-object: ${JSON.stringify(payload)}` };
        return { label: 'decoded' };
      } catch (error) {
        return refused(error);
      }
    },
  };
}

export function validateTarget(): Target<ParserInput> {
  const variants = VARIANT_SETTINGS.map(([name, input, signature]) => makeVariant(name, input, signature));
  return {
    name: 'validateToken',
    arbitrary: parserInput,
    describe: (input) => materializeToken(variants[input.variant]!.kit, input.token),
    async run(input) {
      const variant = variants[input.variant]!;
      const token = materializeToken(variant.kit, input.token);
      try {
        const valid = validateToken(variant.backend, variant.settings, token, input.expected);
        const problems: string[] = [];
        if (!isPlainObject(valid.payload)) problems.push('payload is not an object');
        if (typeof valid.jti !== 'string' || valid.jti === '') problems.push(`jti ${JSON.stringify(valid.jti)}`);
        if (input.expected !== undefined && valid.type !== input.expected) problems.push(`type ${valid.type} for ${input.expected}`);
        if (valid.userId !== undefined && typeof valid.userId !== 'string' && typeof valid.userId !== 'number') problems.push('userId type');
        if (valid.sessionId !== undefined && typeof valid.sessionId !== 'string') problems.push('sessionId type');
        if (valid.generation !== undefined && !Number.isInteger(valid.generation)) problems.push('generation');
        if (typeof valid.issuedAtMs !== 'number' || Number.isNaN(valid.issuedAtMs)) problems.push(`issuedAtMs ${valid.issuedAtMs}`);
        if (typeof valid.expiresAtMs !== 'number' || Number.isNaN(valid.expiresAtMs)) problems.push(`expiresAtMs ${valid.expiresAtMs}`);
        // The decoder checked exp against the clock (with leeway): a valid token has not expired.
        if (valid.expiresAtMs + variant.settings.leeway * 1000 <= Date.now() - 1000) problems.push('expired token accepted');
        if (problems.length) return { label: 'MALFORMED', problem: `validateToken answered a malformed result: ${problems.join(', ')}` };
        const type = valid.type === undefined ? '(untyped)' : ['access', 'refresh', 'sliding'].includes(valid.type) ? valid.type : '(another type)';
        return { label: `valid ${type}` };
      } catch (error) {
        return refused(error);
      }
    },
  };
}

/**
 * A resource server per variant, reading the revocation log of an auth server that shares its store:
 * user 1 of the principals is revoked (revoke-all), session 2 is revoked, so the revocation checks run
 * for real.
 */
export function verifySyncTarget(): Target<ParserInput> & { setup(): Promise<void>; teardown(): Promise<void> } {
  const servers: { auth: Auth; resource: ResourceServer; variant: Variant }[] = [];
  return {
    name: 'verifySync',
    arbitrary: parserInput,
    describe: (input) => materializeToken(servers[input.variant]!.variant.kit, input.token),
    async setup() {
      for (const [name, input, signature] of VARIANT_SETTINGS) {
        const auth = await createAuth({ settings: input, database: ':memory:', passwordHashing: FAST_HASHING, logger: quietLogger });
        const sessions: string[] = [];
        const ids: number[] = [];
        for (const username of ['ada', 'bea', 'cyd', 'dov']) {
          const user = await auth.users.create({ username, password: 'pw' });
          ids.push(user.id);
          const pair = await auth.issueTokens(user);
          sessions.push(String(auth.verifyAccess(pair.access).sid));
        }
        await auth.revokeAllForUser(ids[1]!);
        await auth.revokeSession(sessions[2]!);
        const resource = await createResourceServer({
          settings: { ...input, signingKey: input.algorithm === 'ES256' ? '' : input.signingKey },
          revocations: { database: auth.store },
          logger: quietLogger,
        });
        const variant = makeVariant(name, input, signature, { userIds: ids, sessionIds: sessions, generations: [0, 0, 0, 0] });
        servers.push({ auth, resource, variant });
      }
    },
    async teardown() {
      for (const { auth, resource } of servers) {
        await resource.close();
        await auth.close();
      }
    },
    async run(input) {
      const { resource, variant } = servers[input.variant]!;
      const token = materializeToken(variant.kit, input.token);
      const type = input.expected === 'sliding' ? 'sliding' : input.expected === 'access' ? 'access' : undefined;
      try {
        const claims = type === undefined ? resource.verifySync(token) : resource.verifySync(token, type);
        if (!isPlainObject(claims)) return { label: 'MALFORMED', problem: 'verifySync answered a non-object' };
        return { label: 'accepted' };
      } catch (error) {
        return refused(error, (e) => e instanceof StaleRevocationStateError);
      }
    },
  };
}

export type { BaseKind };
