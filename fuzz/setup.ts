/** What every fuzz and race target shares: keys, cheap password hashing, a logger that keeps count. */

/** The key the servers under test sign with (HS256 needs 32 bytes or more). */
export const FUZZ_SIGNING_KEY = 'fuzz-signing-key-of-at-least-32-bytes-long!';
/** Another key of the same length: tokens it signs must be refused. */
export const WRONG_SIGNING_KEY = 'wrong-signing-key-of-at-least-32-bytes-long';

/**
 * argon2id at its cheapest, as the tests use it: fuzzing and race checking log in tens of thousands of
 * times on two cores. The password code paths are the same; only the cost differs.
 */
export const FAST_HASHING = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

/** A logger for the library that drops everything. */
export const quietLogger: Pick<Console, 'error' | 'warn'> = { error: () => {}, warn: () => {} };

/** A logger that records `error` calls (background task failures, listener failures): each one is a finding. */
export function countingLogger(): Pick<Console, 'error' | 'warn'> & { errors: string[] } {
  const errors: string[] = [];
  return {
    errors,
    error: (...args: unknown[]) => {
      errors.push(args.map((arg) => (arg instanceof Error ? `${arg.name}: ${arg.message}` : String(arg))).join(' '));
    },
    warn: () => {},
  };
}
