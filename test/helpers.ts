import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Auth, type AuthOptions, createAuth } from '../src/auth.ts';
import { type Clock, manualClock } from '../src/clock.ts';
import { TokenError } from '../src/errors.ts';
import { buildServer } from '../src/http/fastify.ts';
import type { SettingsInput } from '../src/settings/settings.ts';
import type { Store } from '../src/store/store.ts';

/** A 32-byte HS256 key used by every test. */
export const SIGNING_KEY = 'test-signing-key-of-at-least-32-bytes!!';

/** argon2id at its cheapest: tests hash many passwords on two cores. */
export const FAST_HASHING = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

export interface TestAuthOptions {
  settings?: Partial<SettingsInput>;
  database?: string | Store;
  /** 0 turns the revocation log poll off, to play a process that has not read the log yet. */
  revocationPollIntervalMs?: number;
  bus?: AuthOptions['bus'];
  clock?: Clock;
  /** Receives listener and background failures; silent by default. */
  logger?: Pick<Console, 'error' | 'warn'>;
}

/** A real Auth over an in-memory SQLite database (or the file named in `database`). */
export function testAuth(options: TestAuthOptions = {}): Promise<Auth> {
  const authOptions: AuthOptions = {
    settings: { signingKey: SIGNING_KEY, ...options.settings },
    database: options.database ?? ':memory:',
    passwordHashing: FAST_HASHING,
    logger: options.logger ?? { error: () => {}, warn: () => {} },
  };
  if (options.clock) authOptions.clock = options.clock;
  if (options.revocationPollIntervalMs !== undefined) {
    authOptions.settings = { ...authOptions.settings, revocationPollInterval: options.revocationPollIntervalMs / 1000 };
  }
  if (options.bus !== undefined) authOptions.bus = options.bus;
  return createAuth(authOptions);
}

/** An Auth plus the real Fastify server in front of it (driven with `app.inject`). */
export async function testServer(options: TestAuthOptions = {}): Promise<{ auth: Auth; app: FastifyInstance }> {
  const auth = await testAuth(options);
  const app = await buildServer(auth);
  return { auth, app };
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'revocable-test-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The decoded payload of a JWT, without verifying it. */
export function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

/** A clock pinned to a whole second plus `offsetMs`, so same-second tests are deterministic. */
export function clockAt(offsetMs = 0): ReturnType<typeof manualClock> {
  return manualClock(Date.UTC(2026, 5, 1, 12, 0, 0) + offsetMs);
}

/** Whether `auth` accepts an access token right now (false for any TokenError, other errors rethrown). */
export function accepted(auth: Auth, access: string): boolean {
  try {
    auth.verifyAccess(access);
    return true;
  } catch (error) {
    if (error instanceof TokenError) return false;
    throw error;
  }
}
