import { type KeyObject, createSecretKey, webcrypto } from 'node:crypto';
import { createVerifier } from 'fast-jwt';
import { jwtVerify } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import type { AsyncContender, Contender } from './throughput.ts';

/**
 * The JWT libraries a Node project would otherwise verify with, each set up once with its key in the
 * form it verifies fastest (no per-call key import), the algorithm pinned, and no result cache.
 */
export interface LibraryVerifiers {
  /** fast-jwt `createVerifier` (what revocable and @fastify/jwt use underneath). */
  fastJwt: (token: string) => Record<string, unknown>;
  /** jsonwebtoken `verify` (what passport-jwt uses); undefined when it does not support the algorithm. */
  jsonwebtoken: ((token: string) => Record<string, unknown>) | undefined;
  /** jose `jwtVerify`: WebCrypto underneath, so it only answers through a promise. */
  jose: (token: string) => Promise<Record<string, unknown>>;
}

/** HS256 with the shared secret. */
export async function hs256Libraries(secret: string): Promise<LibraryVerifiers> {
  const bytes = Buffer.from(secret, 'utf8');
  const secretKey = createSecretKey(bytes);
  // Imported once: handing jose the raw bytes would import a CryptoKey on every call.
  const cryptoKey = await webcrypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  return {
    fastJwt: createVerifier({ key: secret, algorithms: ['HS256'] }),
    jsonwebtoken: (token) => jsonwebtoken.verify(token, secretKey, { algorithms: ['HS256'] }) as Record<string, unknown>,
    jose: async (token) => (await jwtVerify(token, cryptoKey, { algorithms: ['HS256'] })).payload,
  };
}

/** EdDSA (Ed25519) with the public key only. jsonwebtoken 9 does not support EdDSA. */
export async function eddsaLibraries(publicKey: KeyObject): Promise<LibraryVerifiers> {
  const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const der = publicKey.export({ format: 'der', type: 'spki' });
  const cryptoKey = await webcrypto.subtle.importKey('spki', der, { name: 'Ed25519' }, false, ['verify']);
  return {
    fastJwt: createVerifier({ key: pem, algorithms: ['EdDSA'] }),
    jsonwebtoken: undefined,
    jose: async (token) => (await jwtVerify(token, cryptoKey, { algorithms: ['EdDSA'] })).payload,
  };
}

/** The libraries as throughput contenders (jose asynchronous), named `<library> (<algorithm>)`. */
export function libraryContenders(
  libraries: LibraryVerifiers,
  token: string,
): { fastJwt: Contender; jsonwebtoken: Contender | undefined; jose: AsyncContender } {
  const { fastJwt, jsonwebtoken: jwt, jose } = libraries;
  return {
    fastJwt: { name: 'fast-jwt `createVerifier`', op: () => fastJwt(token) },
    jsonwebtoken: jwt ? { name: 'jsonwebtoken `verify`', op: () => jwt(token) } : undefined,
    jose: { name: 'jose `jwtVerify` (awaited)', async: true, op: () => jose(token) },
  };
}

/** Checks that every library accepts `token` and returns the expected user id before anything is timed. */
export async function expectLibrariesAccept(libraries: LibraryVerifiers, token: string, userId: unknown): Promise<void> {
  const claims = [libraries.fastJwt(token), await libraries.jose(token), ...(libraries.jsonwebtoken ? [libraries.jsonwebtoken(token)] : [])];
  if (claims.some((c) => c.user_id !== userId)) throw new Error('a JWT library returned the wrong claims');
}
