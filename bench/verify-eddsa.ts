import { type KeyObject, generateKeyPairSync, verify as verifySignature } from 'node:crypto';
import { benchAuth } from './fixtures.ts';
import { type Throughput, compareThroughput, pairedRatio } from './throughput.ts';

export interface VerifyEddsaResult {
  verifyAccess: Throughput;
  raw: Throughput;
  verifyOverRaw: number;
  rounds: number;
  sliceMs: number;
}

const ROUNDS = 8;
const SLICE_MS = 150;

/**
 * What a resource server pays per request with an asymmetric key: `auth.verifyAccess` of an EdDSA
 * (Ed25519) access token, revocation included, next to a bare `node:crypto` Ed25519 check of the same
 * token (split, verify the signature, parse the payload, check `exp`).
 */
export async function benchVerifyEddsa(log: (line: string) => void): Promise<VerifyEddsaResult> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = (key: KeyObject, type: 'pkcs8' | 'spki') => key.export({ format: 'pem', type }).toString();
  const auth = await benchAuth(':memory:', {
    algorithm: 'EdDSA',
    signingKey: pem(privateKey, 'pkcs8'),
    verifyingKey: pem(publicKey, 'spki'),
  });
  try {
    const user = await auth.users.create({ username: 'eddsa-user', password: 'bench-password' });
    const { access } = await auth.issueTokens(user);
    const raw = (token: string) => {
      const second = token.lastIndexOf('.');
      const signature = Buffer.from(token.slice(second + 1), 'base64url');
      if (!verifySignature(null, Buffer.from(token.slice(0, second)), publicKey, signature)) throw new Error('bad signature');
      const payload = JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, second), 'base64url').toString('utf8'));
      if (typeof payload.exp !== 'number' || Date.now() / 1000 >= payload.exp) throw new Error('expired');
      return payload;
    };
    for (const check of [auth.verifyAccess, raw]) {
      if ((check(access) as Record<string, unknown>).user_id !== user.id) throw new Error('a verifier returned the wrong claims');
    }
    const [verifyAccess, rawResult] = compareThroughput(
      [
        { name: 'auth.verifyAccess (EdDSA)', op: () => auth.verifyAccess(access) },
        { name: 'raw node:crypto Ed25519', op: () => raw(access) },
      ],
      { warmupMs: 300, rounds: ROUNDS, sliceMs: SLICE_MS },
    );
    const result: VerifyEddsaResult = {
      verifyAccess: verifyAccess!,
      raw: rawResult!,
      verifyOverRaw: pairedRatio(verifyAccess!, rawResult!),
      rounds: ROUNDS,
      sliceMs: SLICE_MS,
    };
    log(
      `  EdDSA: verifyAccess ${result.verifyAccess.median.toFixed(0)} ops/s, raw ${result.raw.median.toFixed(0)} ops/s; ` +
        `verifyAccess/raw ${result.verifyOverRaw.toFixed(2)}`,
    );
    return result;
  } finally {
    await auth.close();
  }
}
