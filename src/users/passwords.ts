import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { hash as argon2Hash, parseOptions, verify as argon2Verify } from '@node-rs/argon2';

const pbkdf2Async = promisify(pbkdf2);

/** argon2id cost parameters (memory in KiB). The defaults are OWASP's first recommendation. */
export interface PasswordHashingOptions {
  memoryCost?: number;
  timeCost?: number;
  parallelism?: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Constant-time; accepts argon2 PHC strings and Django's `pbkdf2_sha256$…` hashes. */
  verify(encoded: string, password: string): Promise<boolean>;
  /** True when the hash should be replaced by a fresh argon2id one after a successful login. */
  needsRehash(encoded: string): boolean;
  /**
   * An argon2id hash of a random password, made at start-up with the same cost parameters as
   * {@link PasswordHasher.hash}. A login with no usable hash to check (an unknown username, an account
   * whose stored hash is in no supported format) verifies against it instead, so that it costs one full
   * verification like any other and the response time does not tell which usernames exist.
   */
  readonly decoyHash: string;
}

export async function createPasswordHasher(options: PasswordHashingOptions = {}): Promise<PasswordHasher> {
  const params = {
    memoryCost: options.memoryCost ?? 19456,
    timeCost: options.timeCost ?? 2,
    parallelism: options.parallelism ?? 1,
  };
  // argon2id is the library's default algorithm (its enum is a const enum, unusable here).
  const hash = (password: string) => argon2Hash(password, params);
  const decoyHash = await hash(randomBytes(16).toString('hex'));

  const verify = async (encoded: string, password: string): Promise<boolean> => {
    if (encoded.startsWith('$argon2')) {
      try {
        return await argon2Verify(encoded, password);
      } catch {
        return false;
      }
    }
    if (encoded.startsWith('pbkdf2_sha256$')) return verifyDjangoPbkdf2(encoded, password);
    return false;
  };

  return {
    hash,
    verify,
    decoyHash,
    needsRehash(encoded) {
      if (!encoded.startsWith('$argon2id$')) return true;
      try {
        const current = parseOptions(encoded);
        return (
          current.memoryCost !== params.memoryCost ||
          current.timeCost !== params.timeCost ||
          current.parallelism !== params.parallelism
        );
      } catch {
        return true;
      }
    },
  };
}

/** Whether `verify` can check a password against this hash: argon2 PHC strings and Django's `pbkdf2_sha256$…`. */
export function isSupportedHash(encoded: string): boolean {
  return encoded.startsWith('$argon2') || encoded.startsWith('pbkdf2_sha256$');
}

async function verifyDjangoPbkdf2(encoded: string, password: string): Promise<boolean> {
  const [, iterationsText, salt, expected] = encoded.split('$');
  const iterations = Number(iterationsText);
  if (!salt || !expected || !Number.isSafeInteger(iterations) || iterations < 1) return false;
  const expectedBytes = Buffer.from(expected, 'base64');
  const actual = await pbkdf2Async(password, salt, iterations, expectedBytes.length || 32, 'sha256');
  return expectedBytes.length === actual.length && timingSafeEqual(expectedBytes, actual);
}
