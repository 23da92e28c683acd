import { type KeyObject, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import type { Algorithm } from '../settings/settings.ts';

/** A public key as a JWK (RFC 7517), with the `kid`, `alg` and `use` a verifier matches on. */
export type PublicJwk = Record<string, string>;

/** The members RFC 7638 §3.2 hashes, per key type, in the order it sorts them. */
const THUMBPRINT_MEMBERS: Record<string, string[]> = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
};

/** The RFC 7638 thumbprint of a public key: the same key has the same id on every instance. */
export function thumbprint(publicKey: string | KeyObject): string {
  const jwk = toKeyObject(publicKey).export({ format: 'jwk' }) as Record<string, string>;
  const members = THUMBPRINT_MEMBERS[jwk.kty ?? ''] ?? [];
  const canonical = JSON.stringify(Object.fromEntries(members.map((member) => [member, jwk[member]])));
  return createHash('sha256').update(canonical).digest('base64url');
}

/** A public key (PEM) as the JWK a JWKS publishes. */
export function toPublicJwk(publicKey: string, algorithm: Algorithm, kid: string): PublicJwk {
  const jwk = toKeyObject(publicKey).export({ format: 'jwk' }) as Record<string, string>;
  return { ...jwk, kid, alg: algorithm, use: 'sig' };
}

function toKeyObject(key: string | KeyObject): KeyObject {
  return typeof key === 'string' ? createPublicKey(key) : key;
}

/** Whether a key's text is a JWK (JSON) rather than PEM or an HMAC secret. */
function isJwkText(text: string): boolean {
  return text.trimStart().startsWith('{');
}

/**
 * A private key given as PEM or as a JWK (JSON text), as PKCS #8 PEM. Throws what node:crypto says
 * when it is neither.
 */
export function privateKeyPem(text: string): string {
  const key = isJwkText(text) ? createPrivateKey({ key: JSON.parse(text), format: 'jwk' }) : createPrivateKey(text);
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** A public key given as PEM or as a JWK (JSON text), or derived from a private key, as SPKI PEM. */
export function publicKeyPem(text: string): string {
  const key = isJwkText(text) ? createPublicKey({ key: JSON.parse(text), format: 'jwk' }) : createPublicKey(text);
  return key.export({ type: 'spki', format: 'pem' }) as string;
}
