import { isUtf8 } from 'node:buffer';
import { createVerifier } from 'fast-jwt';
import type { Algorithm } from '../settings/settings.ts';
import { type PublicJwk, toPublicJwk } from './jwk.ts';

/** One key a ring holds. */
export interface RingKey {
  /** Named in the header of the tokens it signs; undefined only for a lone HMAC key (Simple JWT's bare header). */
  kid: string | undefined;
  algorithm: Algorithm;
  /** The HMAC secret, or the SPKI PEM public key. */
  verifyingKey: string;
  /** The HMAC secret or PKCS #8 PEM private key; absent where this process only verifies. */
  signingKey?: string | undefined;
  /** When it starts signing (epoch ms); undefined for a key that never signs here. */
  activatesAtMs?: number | undefined;
  /** Past this, the tokens it signed are refused and it leaves the JWKS; undefined: no end. */
  verifyUntilMs?: number | undefined;
}

/** What every verifier of a ring also checks: the same for each key. */
export interface VerifyConstraints {
  audience?: string | readonly string[] | undefined;
  issuer?: string | undefined;
}

type Verify = (token: string) => unknown;

/** A compiled key: its verifier is built once, when the ring is. */
export interface CompiledKey extends RingKey {
  verify: Verify;
}

/** What a token's header selects. */
export type HeaderMatch =
  | { kind: 'keys'; keys: readonly CompiledKey[]; typ: string | undefined }
  /** The header names a `kid` this ring does not hold: a fresher key set may have it. */
  | { kind: 'unknown-kid'; kid: string }
  | { kind: 'invalid' };

/** Distinct headers remembered; a flood of made-up ones cannot grow memory past this. */
const HEADER_CACHE_SIZE = 256;

/**
 * The keys one process trusts, with a verifier per key built once. Tokens are matched to keys by their
 * header: by `kid` when it names one, else by algorithm. Every token signed by one key has the same
 * header bytes, so the match is remembered by the raw header segment and costs a map lookup.
 */
export class KeyRing {
  readonly keys: readonly CompiledKey[];
  private readonly byKid = new Map<string, CompiledKey>();
  private readonly headers = new Map<string, HeaderMatch>();
  private readonly signingOrder: readonly CompiledKey[];

  /** Throws {@link KeyCompileError}, naming the key, for a key its algorithm cannot verify with. */
  constructor(keys: readonly RingKey[], constraints: VerifyConstraints) {
    this.keys = keys.map((key) => {
      try {
        return { ...key, verify: compileVerifier(key, constraints) };
      } catch (error) {
        throw new KeyCompileError(key, error as Error);
      }
    });
    for (const key of this.keys) if (key.kid !== undefined) this.byKid.set(key.kid, key);
    this.signingOrder = this.keys
      .filter((key) => key.signingKey !== undefined && key.activatesAtMs !== undefined)
      .sort((a, b) => (b.activatesAtMs ?? 0) - (a.activatesAtMs ?? 0));
  }

  /** The key that signs at `nowMs`: the most recently activated one. */
  signingKeyAt(nowMs: number): CompiledKey | undefined {
    for (const key of this.signingOrder) if ((key.activatesAtMs ?? 0) <= nowMs) return key;
    return undefined;
  }

  /** The keys a verifier publishes (RFC 7517 JWK Set): every public key still verifying at `nowMs`. */
  publicJwks(nowMs: number): PublicJwk[] {
    return this.keys
      .filter((key) => key.kid !== undefined && !key.algorithm.startsWith('HS') && !expired(key, nowMs))
      .map((key) => toPublicJwk(key.verifyingKey, key.algorithm, key.kid as string));
  }

  /** The keys that may have signed a token with this header segment. */
  match(headerSegment: string): HeaderMatch {
    const known = this.headers.get(headerSegment);
    if (known !== undefined) return known;
    const match = this.matchHeader(parseHeader(headerSegment));
    // Unknown kids are not remembered: the next key set may hold them.
    if (match.kind !== 'unknown-kid') {
      if (this.headers.size >= HEADER_CACHE_SIZE) this.headers.clear();
      this.headers.set(headerSegment, match);
    }
    return match;
  }

  private matchHeader(header: Record<string, unknown> | undefined): HeaderMatch {
    if (header === undefined || typeof header.alg !== 'string') return { kind: 'invalid' };
    // RFC 7515 §4.1.11: a critical extension this verifier does not understand makes the token invalid,
    // and it understands none.
    if (header.crit !== undefined) return { kind: 'invalid' };
    const typ = typeof header.typ === 'string' ? header.typ : undefined;
    if (header.kid !== undefined) {
      if (typeof header.kid !== 'string') return { kind: 'invalid' };
      const key = this.byKid.get(header.kid);
      if (key === undefined) return { kind: 'unknown-kid', kid: header.kid };
      return key.algorithm === header.alg ? { kind: 'keys', keys: [key], typ } : { kind: 'invalid' };
    }
    // No kid (a lone HMAC key's tokens, or a Simple JWT peer's): every key of the header's algorithm.
    const keys = this.keys.filter((key) => key.algorithm === header.alg);
    return keys.length ? { kind: 'keys', keys, typ } : { kind: 'invalid' };
  }
}

/** A key whose verifier cannot be built (a key of the wrong type for its algorithm). */
export class KeyCompileError extends Error {
  readonly key: RingKey;
  constructor(key: RingKey, cause: Error) {
    super(cause.message);
    this.key = key;
  }
}

export function expired(key: RingKey, nowMs: number): boolean {
  return key.verifyUntilMs !== undefined && nowMs >= key.verifyUntilMs;
}

/**
 * A JWS header segment as a JSON object, or undefined for anything else: base64url without padding,
 * UTF-8 (RFC 8725 §3.7), JSON, an object. Of repeated member names the last is read (`JSON.parse`), as
 * fast-jwt reads it when it verifies, and as PyJWT does (RFC 7515 §5.2 allows it).
 */
function parseHeader(segment: string): Record<string, unknown> | undefined {
  if (segment.length === 0 || segment.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(segment)) return undefined;
  const bytes = Buffer.from(segment, 'base64url');
  if (!isUtf8(bytes)) return undefined;
  try {
    const header: unknown = JSON.parse(bytes.toString('utf8'));
    return header !== null && typeof header === 'object' && !Array.isArray(header)
      ? (header as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One key's verifier, its algorithm pinned: the header's `alg` can select among the ring's keys but never
 * make a key verify under another algorithm (no HS/RS confusion). Times are checked by the decoder.
 */
function compileVerifier(key: RingKey, constraints: VerifyConstraints): Verify {
  return createVerifier({
    key: key.verifyingKey,
    algorithms: [key.algorithm],
    ignoreExpiration: true,
    ignoreNotBefore: true,
    ...(constraints.audience !== undefined ? { allowedAud: constraints.audience as string | string[] } : {}),
    ...(constraints.issuer !== undefined ? { allowedIss: constraints.issuer, requiredClaims: ['iss'] } : {}),
  });
}
