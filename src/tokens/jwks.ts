import { createHash, createPublicKey } from 'node:crypto';
import type { Settings } from '../settings/settings.ts';

/** A public key as a JWK (RFC 7517), with the `kid`, `alg` and `use` a verifier matches on. */
export type PublicJwk = Record<string, string>;

/** The members RFC 7638 §3.2 hashes, per key type, in the order it sorts them. */
const THUMBPRINT_MEMBERS: Record<string, string[]> = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
};

/**
 * The verifying key as a JWK, its `kid` the RFC 7638 thumbprint (so the same key always has the same
 * id, on every instance), or undefined for HMAC algorithms: a shared secret is never published.
 */
export function publicJwk(settings: Settings): PublicJwk | undefined {
  if (settings.algorithm.startsWith('HS')) return undefined;
  const jwk = createPublicKey(settings.verifyingKey).export({ format: 'jwk' }) as Record<string, string>;
  const members = THUMBPRINT_MEMBERS[jwk.kty ?? ''] ?? [];
  const canonical = JSON.stringify(Object.fromEntries(members.map((member) => [member, jwk[member]])));
  const kid = createHash('sha256').update(canonical).digest('base64url');
  return { ...jwk, kid, alg: settings.algorithm, use: 'sig' };
}

/** `GET /.well-known/jwks.json`: the public keys tokens are verified with (none for HMAC). */
export function jwks(settings: Settings): { keys: PublicJwk[] } {
  const key = publicJwk(settings);
  return { keys: key ? [key] : [] };
}
