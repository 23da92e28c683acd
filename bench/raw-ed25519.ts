import { type KeyObject, verify as verifySignature } from 'node:crypto';

/**
 * The floor for an asymmetric key: an Ed25519 (EdDSA) check with nothing but `node:crypto`. Split the
 * token, `crypto.verify` the signature over `header.payload`, parse the payload and check `exp`. No
 * algorithm pinning, no claim checks, no revocation.
 */
export function createRawEd25519Verifier(publicKey: KeyObject): (token: string) => Record<string, unknown> {
  return (token) => {
    const second = token.lastIndexOf('.');
    const signature = Buffer.from(token.slice(second + 1), 'base64url');
    if (!verifySignature(null, Buffer.from(token.slice(0, second)), publicKey, signature)) throw new Error('bad signature');
    const payload = JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, second), 'base64url').toString('utf8'));
    if (typeof payload.exp !== 'number' || Date.now() / 1000 >= payload.exp) throw new Error('expired');
    return payload;
  };
}
