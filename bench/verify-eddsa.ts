import { type KeyObject, generateKeyPairSync } from 'node:crypto';
import { benchAuth } from './fixtures.ts';
import { eddsaLibraries, expectLibrariesAccept, libraryContenders } from './libraries.ts';
import { createRawEd25519Verifier } from './raw-ed25519.ts';
import { type Throughput, compareThroughputAsync, pairedRatio } from './throughput.ts';

export interface VerifyEddsaResult {
  verifyAccess: Throughput;
  raw: Throughput;
  fastJwt: Throughput;
  /** jose's `jwtVerify`, awaited call after call. */
  jose: Throughput;
  /** Paired per round: verifyAccess / raw, fast-jwt / raw, jose / raw, verifyAccess / jose. */
  verifyOverRaw: number;
  fastJwtOverRaw: number;
  joseOverRaw: number;
  verifyOverJose: number;
  rounds: number;
  sliceMs: number;
  warmupMs: number;
}

const ROUNDS = 8;
const SLICE_MS = 150;
const WARMUP_MS = 300;

/**
 * What a resource server pays per request with an asymmetric key: `auth.verifyAccess` of an EdDSA
 * (Ed25519) access token, revocation included, next to a bare `node:crypto` Ed25519 check of the same
 * token (split, verify the signature, parse the payload, check `exp`), fast-jwt alone and jose (awaited
 * call after call). jsonwebtoken 9 does not support EdDSA.
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
    const libraries = await eddsaLibraries(publicKey);
    for (const check of [auth.verifyAccess, raw]) {
      if ((check(access) as Record<string, unknown>).user_id !== user.id) throw new Error('a verifier returned the wrong claims');
    }
    await expectLibrariesAccept(libraries, access, user.id);
    const lib = libraryContenders(libraries, access);
    const [verifyAccess, rawResult, fastJwt, jose] = (await compareThroughputAsync(
      [
        { name: 'auth.verifyAccess (EdDSA)', op: () => auth.verifyAccess(access) },
        { name: 'raw node:crypto Ed25519', op: () => raw(access) },
        lib.fastJwt,
        lib.jose,
      ],
      { warmupMs: WARMUP_MS, rounds: ROUNDS, sliceMs: SLICE_MS },
    )) as [Throughput, Throughput, Throughput, Throughput];
    const result: VerifyEddsaResult = {
      verifyAccess,
      raw: rawResult,
      fastJwt,
      jose,
      verifyOverRaw: pairedRatio(verifyAccess, rawResult),
      fastJwtOverRaw: pairedRatio(fastJwt, rawResult),
      joseOverRaw: pairedRatio(jose, rawResult),
      verifyOverJose: pairedRatio(verifyAccess, jose),
      rounds: ROUNDS,
      sliceMs: SLICE_MS,
      warmupMs: WARMUP_MS,
    };
    log(
      `  EdDSA: verifyAccess ${result.verifyAccess.median.toFixed(0)} ops/s, raw ${result.raw.median.toFixed(0)},` +
        ` fast-jwt ${result.fastJwt.median.toFixed(0)}, jose ${result.jose.median.toFixed(0)} ops/s;` +
        ` verifyAccess/raw ${result.verifyOverRaw.toFixed(2)}, verifyAccess/jose ${result.verifyOverJose.toFixed(2)}`,
    );
    return result;
  } finally {
    await auth.close();
  }
}
