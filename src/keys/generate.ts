import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Algorithm } from '../settings/settings.ts';

/** Fresh key material for an algorithm: an HMAC secret, or a PEM key pair. */
export interface KeyMaterial {
  privateKey: string;
  /** SPKI PEM; undefined for HMAC, whose secret is never published. */
  publicKey: string | undefined;
}

const PEM = {
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
} as const;

/** Generates a key of the size RFC 7518 asks for the algorithm (RSA: 2048 bits). */
export function generateKeyMaterial(algorithm: Algorithm): KeyMaterial {
  if (algorithm.startsWith('HS')) {
    // Twice the hash length, base64url: comfortably above RFC 7518 §3.2's minimum.
    const bytes = Number(algorithm.slice(2)) / 4;
    return { privateKey: randomBytes(bytes).toString('base64url'), publicKey: undefined };
  }
  const pair: { privateKey: string; publicKey: string } = (() => {
    switch (algorithm) {
      case 'EdDSA':
        return generateKeyPairSync('ed25519', { publicKeyEncoding: PEM.publicKeyEncoding, privateKeyEncoding: PEM.privateKeyEncoding });
      case 'ES256':
        return generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: PEM.publicKeyEncoding, privateKeyEncoding: PEM.privateKeyEncoding });
      case 'ES384':
        return generateKeyPairSync('ec', { namedCurve: 'P-384', publicKeyEncoding: PEM.publicKeyEncoding, privateKeyEncoding: PEM.privateKeyEncoding });
      case 'ES512':
        return generateKeyPairSync('ec', { namedCurve: 'P-521', publicKeyEncoding: PEM.publicKeyEncoding, privateKeyEncoding: PEM.privateKeyEncoding });
      default:
        return generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: PEM.publicKeyEncoding, privateKeyEncoding: PEM.privateKeyEncoding });
    }
  })();
  return { privateKey: pair.privateKey, publicKey: pair.publicKey };
}
