/**
 * Token-shaped fuzz input: arbitraries that describe a token (a recipe), and the code that turns a
 * recipe into a string at the moment it is used. Recipes keep times relative (`{ rel: seconds }`), so
 * a token forged with "exp in 300 s" is still valid when it is sent, and name the valid token a
 * mutation starts from by its kind, so a fresh one can be taken from whatever mints them.
 */
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';

/** A JSON value as text (so that `__proto__` keys and duplicate keys survive), or a time relative to now. */
export type ValueRecipe = { json: string } | { rel: number } | { omit: true };
/** One member of a JSON object: later members with the same name override earlier ones. */
export type Member = [name: string, value: ValueRecipe];

export type BaseKind = 'access' | 'refresh' | 'sliding';

export type Signer =
  /** The verifier's key and algorithm. */
  | 'right'
  /** The right secret with another HMAC hash (or, for an asymmetric kit, HS256 keyed with the public key: algorithm confusion). */
  | 'other-alg'
  /** Another key of the right algorithm. */
  | 'wrong'
  /** `alg: none`, empty signature. */
  | 'none'
  /** The right header, a random signature. */
  | 'garbage';

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'replace'; at: number; char: string }
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number; count: number }
  | { op: 'truncate'; at: number }
  | { op: 'swap'; i: number; j: number }
  | { op: 'drop'; i: number }
  | { op: 'duplicate'; i: number }
  | { op: 'foreign'; i: number; from: BaseKind; j: number }
  | { op: 'payload'; members: Member[]; signer: Signer | 'keep' }
  | { op: 'header'; members: Member[]; signer: Signer | 'keep' }
  | { op: 'pad'; i: number; padding: string }
  | { op: 'standard-base64'; i: number }
  | { op: 'case'; i: number }
  | { op: 'whitespace'; at: number; space: string };

export type TokenRecipe =
  | { kind: 'text'; text: string }
  | { kind: 'segments'; segments: string[] }
  | { kind: 'forged'; base: BaseKind; user: number; header: Member[]; claims: Member[]; signer: Signer }
  | { kind: 'valid'; base: BaseKind; user: number }
  | { kind: 'mutated'; base: BaseKind; user: number; mutations: Mutation[] };

/**
 * What materializing a recipe needs of the verifier under test: its algorithm and key, the header and
 * claims its own tokens carry, and valid tokens to mutate.
 */
export interface TokenKit {
  algorithm: string;
  /** The header of a token of this kind, as the verifier's own tokens have it. */
  header(kind: BaseKind): Record<string, unknown>;
  /** Plausible claims of a token of this kind for user number `user`, at `nowSeconds`. */
  claims(kind: BaseKind, user: number, nowSeconds: number): Record<string, unknown>;
  /** The signature of `input` under `signer`, for a header whose `alg` is `alg`. */
  signature(signer: Exclude<Signer, 'none' | 'garbage'>, alg: string, input: string): string;
  /** A valid token of this kind (fresh or from a pool): what mutations start from. */
  valid(kind: BaseKind, user: number): string;
}

// ---------------------------------------------------------------------------------------------------
// Keys

/** An HMAC kit's signatures: the right secret, another one, and the right secret under another hash. */
export function hmacSignature(secret: string, wrongSecret: string) {
  return (signer: Exclude<Signer, 'none' | 'garbage'>, alg: string, input: string): string => {
    const hash = alg === 'HS384' ? 'sha384' : alg === 'HS512' ? 'sha512' : 'sha256';
    if (signer === 'other-alg') return createHmac(hash === 'sha256' ? 'sha512' : 'sha256', secret).update(input).digest('base64url');
    return createHmac(hash, signer === 'right' ? secret : wrongSecret).update(input).digest('base64url');
  };
}

/** A P-256 key pair in PEM. */
export function ecKeyPair(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** An ES256 kit's signatures; `other-alg` is HS256 keyed with the public key (the classic confusion). */
export function ecSignature(pair: { privateKey: string; publicKey: string }, wrongPrivateKey: string) {
  return (signer: Exclude<Signer, 'none' | 'garbage'>, _alg: string, input: string): string => {
    if (signer === 'other-alg') return createHmac('sha256', pair.publicKey).update(input).digest('base64url');
    const key = signer === 'right' ? pair.privateKey : wrongPrivateKey;
    return sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  };
}

// ---------------------------------------------------------------------------------------------------
// Arbitraries

/** The claims revocable reads. */
const CLAIMS = ['token_type', 'exp', 'iat', 'nbf', 'jti', 'user_id', 'sid', 'gen', 'aud', 'iss', 'refresh_exp'];

/** Other names worth trying: header parameters, and the names JavaScript objects own. */
const NAMES = [
  'sub',
  'alg',
  'typ',
  'kid',
  'crit',
  'jku',
  'jwk',
  'x5u',
  'b64',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'toJSON',
  'hasOwnProperty',
  '',
];

/** JSON texts that have broken parsers before: numbers JSON.parse turns into Infinity or -0, objects that cannot become strings. */
const NASTY_JSON = [
  'null',
  'true',
  'false',
  '0',
  '-0',
  '-1',
  '1.5',
  '1e400',
  '-1e400',
  '1e-400',
  '9007199254740993',
  '123456789012345678901234567890',
  '1e308',
  '""',
  '" "',
  '"0"',
  '"1"',
  '"-1"',
  '"1.0"',
  '"1e3"',
  '"0x10"',
  '"access"',
  '"refresh"',
  '"sliding"',
  '"Access"',
  '"none"',
  '"HS256"',
  '"ES256"',
  '"RS256"',
  '"at+jwt"',
  '"application/at+jwt"',
  '"\\u0000"',
  '"\\ud800"',
];

/** Objects and arrays where a scalar is expected: some cannot even be turned into a string. */
const NASTY_OBJECTS = [
  '[]',
  '[1]',
  '["access"]',
  '{}',
  '{"toString":1}',
  '{"valueOf":1}',
  '{"toString":1,"valueOf":1}',
  '{"__proto__":{"toString":1}}',
  '{"toJSON":1}',
  '{"constructor":{"prototype":1}}',
  '[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]',
];

const name = fc.oneof(
  { arbitrary: fc.constantFrom(...CLAIMS), weight: 6 },
  { arbitrary: fc.constantFrom(...NAMES), weight: 2 },
  { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
);

const jsonText = fc.oneof(
  { arbitrary: fc.constantFrom(...NASTY_JSON), weight: 3 },
  { arbitrary: fc.constantFrom(...NASTY_OBJECTS), weight: 3 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? 'null'), weight: 3 },
  { arbitrary: fc.integer().map(String), weight: 1 },
  { arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => JSON.stringify(value)), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }).map((value) => JSON.stringify(value)), weight: 2 },
);

export const valueRecipe: fc.Arbitrary<ValueRecipe> = fc.oneof(
  { arbitrary: jsonText.map((json) => ({ json })), weight: 5 },
  // Times around now: expired, just valid, in the future, far off.
  {
    arbitrary: fc
      .oneof(fc.integer({ min: -400, max: 400 }), fc.integer({ min: -10_000_000, max: 10_000_000 }))
      .map((rel) => ({ rel })),
    weight: 3,
  },
  { arbitrary: fc.constant({ omit: true as const }), weight: 1 },
);

export const members: fc.Arbitrary<Member[]> = fc.array(fc.tuple(name, valueRecipe), { minLength: 1, maxLength: 4 });

const signer = fc.constantFrom<Signer>('right', 'right', 'right', 'other-alg', 'wrong', 'none', 'garbage');
const baseKind = fc.constantFrom<BaseKind>('access', 'access', 'refresh', 'sliding');
const user = fc.nat({ max: 3 });
const segmentIndex = fc.nat({ max: 3 });
const position = fc.double({ min: 0, max: 1, noNaN: true });

const base64urlText = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), maxLength: 80 });

/** One segment: base64url noise, base64url of JSON, or any text. */
const segment = fc.oneof(
  { arbitrary: base64urlText, weight: 3 },
  { arbitrary: jsonText.map((json) => Buffer.from(json).toString('base64url')), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 1 },
);

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant('replace' as const), at: position, char: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) }),
  fc.record({ op: fc.constant('insert' as const), at: position, text: fc.string({ unit: 'binary', maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete' as const), at: position, count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: position }),
  fc.record({ op: fc.constant('swap' as const), i: segmentIndex, j: segmentIndex }),
  fc.record({ op: fc.constant('drop' as const), i: segmentIndex }),
  fc.record({ op: fc.constant('duplicate' as const), i: segmentIndex }),
  fc.record({ op: fc.constant('foreign' as const), i: segmentIndex, from: baseKind, j: segmentIndex }),
  fc.record({ op: fc.constant('payload' as const), members, signer: fc.oneof(signer, fc.constant('keep' as const)) }),
  fc.record({ op: fc.constant('header' as const), members, signer: fc.oneof(signer, fc.constant('keep' as const)) }),
  fc.record({ op: fc.constant('pad' as const), i: segmentIndex, padding: fc.constantFrom('=', '==', '===', '.', '\0') }),
  fc.record({ op: fc.constant('standard-base64' as const), i: segmentIndex }),
  fc.record({ op: fc.constant('case' as const), i: segmentIndex }),
  fc.record({ op: fc.constant('whitespace' as const), at: position, space: fc.constantFrom(' ', '\t', '\n', '\r\n', '\u00a0', '\u2028', '\v') }),
);

/** Any token-like input, weighted towards near-valid tokens (those reach the deepest code). */
export const tokenRecipe: fc.Arbitrary<TokenRecipe> = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((text) => ({ kind: 'text' as const, text })), weight: 1 },
  {
    arbitrary: fc.oneof(
      fc.string({ unit: 'grapheme-ascii', maxLength: 100 }),
      fc.constantFrom('', ' ', '.', '..', '...', 'a.b.c', 'null', 'undefined', 'Bearer', '[object Object]'),
      fc.nat({ max: 20_000 }).map((n) => 'a'.repeat(n)),
    ).map((text) => ({ kind: 'text' as const, text })),
    weight: 1,
  },
  {
    arbitrary: fc.array(segment, { minLength: 0, maxLength: 6 }).map((segments) => ({ kind: 'segments' as const, segments })),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('forged' as const),
      base: baseKind,
      user,
      header: fc.oneof({ arbitrary: fc.constant<Member[]>([]), weight: 3 }, { arbitrary: fc.array(fc.tuple(name, valueRecipe), { maxLength: 2 }), weight: 1 }),
      claims: fc.array(fc.tuple(name, valueRecipe), { maxLength: 3 }),
      signer,
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ kind: fc.constant('valid' as const), base: baseKind, user }), weight: 3 },
  {
    arbitrary: fc.record({
      kind: fc.constant('mutated' as const),
      base: baseKind,
      user,
      mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
    }),
    weight: 5,
  },
);

// ---------------------------------------------------------------------------------------------------
// Materializing

/** A JSON object's text from a template and members (members override; `omit` removes). */
export function objectText(template: Record<string, unknown>, patch: readonly Member[], nowSeconds: number): string {
  const entries = new Map<string, string>();
  for (const [key, value] of Object.entries(template)) entries.set(key, JSON.stringify(value));
  for (const [key, value] of patch) {
    if ('omit' in value) entries.delete(key);
    else entries.set(key, 'rel' in value ? String(nowSeconds + value.rel) : value.json);
  }
  return `{${[...entries].map(([key, text]) => `${JSON.stringify(key)}:${text}`).join(',')}}`;
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** The `alg` a header text names, if it is readable. */
function algOf(headerText: string): string {
  try {
    const header = JSON.parse(headerText) as { alg?: unknown };
    return typeof header?.alg === 'string' ? header.alg : '';
  } catch {
    return '';
  }
}

function signed(kit: TokenKit, headerText: string, payloadText: string, how: Signer, garbage = 'c2lnbmF0dXJl'): string {
  const input = `${b64(headerText)}.${b64(payloadText)}`;
  if (how === 'none') return `${input}.`;
  if (how === 'garbage') return `${input}.${garbage}`;
  return `${input}.${kit.signature(how, algOf(headerText), input)}`;
}

/** The header for a signer: `none` says so, `other-alg` names the other algorithm. */
function headerFor(kit: TokenKit, kind: BaseKind, how: Signer): Record<string, unknown> {
  const header = { ...kit.header(kind) };
  if (how === 'none') header.alg = 'none';
  if (how === 'other-alg') header.alg = kit.algorithm === 'HS512' ? 'HS256' : kit.algorithm.startsWith('HS') ? 'HS512' : 'HS256';
  if (how === 'other-alg' && !kit.algorithm.startsWith('HS')) delete header.kid;
  return header;
}

function decodeSegment(segment: string | undefined): string {
  return Buffer.from(segment ?? '', 'base64url').toString('utf8');
}

/** Members read back from a JSON object text, to re-encode a valid token's header or payload with changes. */
function parsedObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const at = (text: string, fraction: number) => Math.min(text.length, Math.floor(fraction * text.length));

function applyMutation(kit: TokenKit, token: string, change: Mutation, nowSeconds: number): string {
  const parts = token.split('.');
  const index = (i: number) => (parts.length === 0 ? 0 : i % parts.length);
  switch (change.op) {
    case 'flip': {
      const i = at(token, change.at);
      if (i >= token.length) return token;
      return token.slice(0, i) + String.fromCharCode(token.charCodeAt(i) ^ (1 << change.bit)) + token.slice(i + 1);
    }
    case 'replace': {
      const i = at(token, change.at);
      return token.slice(0, i) + change.char + token.slice(i + 1);
    }
    case 'insert': {
      const i = at(token, change.at);
      return token.slice(0, i) + change.text + token.slice(i);
    }
    case 'delete': {
      const i = at(token, change.at);
      return token.slice(0, i) + token.slice(i + change.count);
    }
    case 'truncate':
      return token.slice(0, at(token, change.at));
    case 'swap': {
      const i = index(change.i);
      const j = index(change.j);
      [parts[i], parts[j]] = [parts[j]!, parts[i]!];
      return parts.join('.');
    }
    case 'drop':
      parts.splice(index(change.i), 1);
      return parts.join('.');
    case 'duplicate':
      parts.splice(index(change.i), 0, parts[index(change.i)] ?? '');
      return parts.join('.');
    case 'foreign': {
      const other = kit.valid(change.from, 0).split('.');
      parts[index(change.i)] = other[change.j % other.length] ?? '';
      return parts.join('.');
    }
    case 'payload': {
      const headerText = decodeSegment(parts[0]);
      const payloadText = objectText(parsedObject(decodeSegment(parts[1])), change.members, nowSeconds);
      if (change.signer === 'keep') return `${parts[0]}.${b64(payloadText)}.${parts[2] ?? ''}`;
      const header = change.signer === 'none' ? objectText(parsedObject(headerText), [['alg', { json: '"none"' }]], nowSeconds) : headerText;
      return signed(kit, header, payloadText, change.signer, parts[2]);
    }
    case 'header': {
      const headerText = objectText(parsedObject(decodeSegment(parts[0])), change.members, nowSeconds);
      if (change.signer === 'keep') return `${b64(headerText)}.${parts.slice(1).join('.')}`;
      return signed(kit, headerText, decodeSegment(parts[1]), change.signer, parts[2]);
    }
    case 'pad': {
      const i = index(change.i);
      parts[i] = `${parts[i] ?? ''}${change.padding}`;
      return parts.join('.');
    }
    case 'standard-base64': {
      const i = index(change.i);
      parts[i] = Buffer.from(parts[i] ?? '', 'base64url').toString('base64');
      return parts.join('.');
    }
    case 'case': {
      const i = index(change.i);
      const text = parts[i] ?? '';
      parts[i] = text === text.toUpperCase() ? text.toLowerCase() : text.toUpperCase();
      return parts.join('.');
    }
    case 'whitespace': {
      const i = at(token, change.at);
      return token.slice(0, i) + change.space + token.slice(i);
    }
  }
}

/** The token a recipe describes, now. */
export function materializeToken(kit: TokenKit, recipe: TokenRecipe, nowMs = Date.now()): string {
  const nowSeconds = Math.floor(nowMs / 1000);
  switch (recipe.kind) {
    case 'text':
      return recipe.text;
    case 'segments':
      return recipe.segments.join('.');
    case 'valid':
      return kit.valid(recipe.base, recipe.user);
    case 'forged': {
      const header = objectText(headerFor(kit, recipe.base, recipe.signer), recipe.header, nowSeconds);
      const claims = objectText(kit.claims(recipe.base, recipe.user, nowSeconds), recipe.claims, nowSeconds);
      return signed(kit, header, claims, recipe.signer);
    }
    case 'mutated': {
      let token = kit.valid(recipe.base, recipe.user);
      for (const change of recipe.mutations) token = applyMutation(kit, token, change, nowSeconds);
      return token;
    }
  }
}
