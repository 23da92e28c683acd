import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Auth, createAuth } from '../src/auth.ts';
import type { SettingsInput } from '../src/settings/settings.ts';
import type { SqlStore } from '../src/store/sql/sql-store.ts';

/** A 32-byte-plus HS256 key used by every benchmark. */
export const BENCH_KEY = 'bench-signing-key-of-at-least-32-bytes!!';

/** argon2id at its cheapest: no benchmark here measures password hashing. */
const FAST_HASHING = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

/** A temporary directory on the real disk (os.tmpdir()), removed by `remove`. */
export function benchDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'revocable-bench-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** An Auth over `database` (a SQLite file path or `:memory:`), with background errors surfaced. */
export function benchAuth(database: string, settings: Partial<SettingsInput> = {}): Promise<Auth> {
  return createAuth({
    settings: { signingKey: BENCH_KEY, ...settings },
    database: database === ':memory:' ? database : `sqlite:${database}`,
    passwordHashing: FAST_HASHING,
    logger: { error: (...args: unknown[]) => console.error(...args), warn: () => {} },
  });
}

/** The SQL store behind an Auth opened by {@link benchAuth}. */
export function sqlStoreOf(auth: Auth): SqlStore {
  return auth.store as SqlStore;
}

export interface OpenBenchAuthOptions {
  settings?: Partial<SettingsInput>;
  /** A bus URL (`redis://…`, `postgres://…`); none leaves propagation to the revocation log poll. */
  bus?: string;
  /** False when the schema was migrated beforehand (see servers.ts). */
  migrate?: boolean;
  /** Collects the library's warnings (a bus that could not connect warns and falls back to the poll). */
  warnings?: string[];
}

/** An Auth over any database URL, with background errors surfaced and warnings collected. */
export function openBenchAuth(databaseUrl: string, options: OpenBenchAuthOptions = {}): Promise<Auth> {
  const warnings = options.warnings;
  return createAuth({
    settings: { signingKey: BENCH_KEY, ...options.settings },
    database: databaseUrl,
    passwordHashing: FAST_HASHING,
    logger: {
      error: (...args: unknown[]) => console.error(...args),
      warn: (...args: unknown[]) => warnings?.push(args.map(String).join(' ')),
    },
    ...(options.bus !== undefined ? { bus: options.bus } : {}),
    ...(options.migrate !== undefined ? { migrate: options.migrate } : {}),
  });
}
