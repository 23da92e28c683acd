import { type KeyObject, generateKeyPairSync } from 'node:crypto';
import { benchAuth } from './fixtures.ts';
import { createRawEd25519Verifier } from './raw-ed25519.ts';
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
    const raw = createRawEd25519Verifier(publicKey);
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
