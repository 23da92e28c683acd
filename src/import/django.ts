import type { Clock } from '../clock.ts';
import { type Settings, longestTokenLifetime } from '../settings/settings.ts';
import type { ImportedToken, ImportedUserConflict } from '../store/imports.ts';
import type { Store } from '../store/store.ts';
import { isSupportedHash } from '../users/passwords.ts';
import type { DjangoSource, DjangoTokenRow } from './django-source.ts';

/**
 * `revocable import-django`: users (with their ids and password hashes), and Simple JWT's outstanding
 * and blacklisted tokens (their claims, never the tokens), read in batches and written idempotently.
 */

export const DEFAULT_IMPORT_BATCH_SIZE = 1000;

/** The reason recorded with the blacklist rows and sessions an import writes. */
export const IMPORT_REASON = 'django_blacklist';

export type ImportPhase = 'users' | 'tokens';

export interface DjangoImportOptions {
  store: Store;
  /** The claims tokens carry (`userIdClaim`, `tokenTypeClaim`), `leeway`, and the lifetimes (the log horizon). */
  settings: Settings;
  clock: Clock;
  /** Rows read, and written in one transaction, at a time (default {@link DEFAULT_IMPORT_BATCH_SIZE}). */
  batchSize?: number;
  /** Called before the first batch of each phase and after every batch. */
  onProgress?: (progress: { phase: ImportPhase; done: number; total: number }) => void;
}

export interface DjangoImportReport {
  users: {
    read: number;
    inserted: number;
    /** Present already (an earlier import): left as they are. */
    unchanged: number;
    /** Present already with a Django hash no login had upgraded yet, changed in Django since. */
    passwordsUpdated: number;
    /** Id or username taken by another user here: not imported, nor their outstanding tokens. */
    conflicts: ImportedUserConflict[];
    /** Hashes revocable cannot check (an unusable password, a hasher other than pbkdf2_sha256). */
    unsupportedHashes: number;
  };
  tokens: {
    /** Whether the database has Simple JWT's `token_blacklist` tables. */
    found: boolean;
    read: number;
    /** New outstanding rows (blacklisted ones included). */
    recorded: number;
    /** New blacklist rows. */
    blacklisted: number;
    /** Present already (an earlier import), nothing to change. */
    unchanged: number;
    /** Expired: left out. */
    expired: number;
    /** Live tokens of a deleted user, of a conflicting user, or naming no user: left out. */
    skipped: number;
  };
}

export async function importFromDjango(source: DjangoSource, options: DjangoImportOptions): Promise<DjangoImportReport> {
  const { store, settings, clock } = options;
  const batchSize = options.batchSize ?? DEFAULT_IMPORT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a whole number of rows, got ${batchSize}`);
  const progress = options.onProgress ?? (() => {});
  const report: DjangoImportReport = {
    users: { read: 0, inserted: 0, unchanged: 0, passwordsUpdated: 0, conflicts: [], unsupportedHashes: 0 },
    tokens: { found: source.hasTokenTables, read: 0, recorded: 0, blacklisted: 0, unchanged: 0, expired: 0, skipped: 0 },
  };

  const users = report.users;
  const userTotal = await source.countUsers();
  progress({ phase: 'users', done: 0, total: userTotal });
  for (let afterId: number | null = null; ; ) {
    const rows = await source.readUsers(afterId, batchSize);
    if (rows.length === 0) break;
    afterId = rows[rows.length - 1]!.id;
    const outcome = await store.importUsers(rows);
    users.read += rows.length;
    users.inserted += outcome.inserted;
    users.unchanged += outcome.unchanged;
    users.passwordsUpdated += outcome.passwordsUpdated;
    users.conflicts.push(...outcome.conflicts);
    users.unsupportedHashes += rows.filter((row) => !isSupportedHash(row.password)).length;
    progress({ phase: 'users', done: users.read, total: userTotal });
    if (rows.length < batchSize) break;
  }

  // The tokens of a conflicting user would name another user here: none of them is recorded live.
  const conflicting = new Set(users.conflicts.flatMap((user) => [String(user.id), user.username]));
  const tokens = report.tokens;
  const tokenTotal = await source.countTokens();
  progress({ phase: 'tokens', done: 0, total: tokenTotal });
  const leewayMs = settings.leeway * 1000;
  const horizonMs = (longestTokenLifetime(settings) + settings.leeway) * 1000;
  for (let afterId: number | null = null; ; ) {
    const rows = await source.readTokens(afterId, batchSize);
    if (rows.length === 0) break;
    afterId = rows[rows.length - 1]!.id;
    const nowMs = clock();
    const batch: ImportedToken[] = [];
    for (const row of rows) {
      if (row.expiresAtMs + leewayMs <= nowMs) {
        tokens.expired++;
        continue;
      }
      const token = importedToken(row, settings);
      const live = token.blacklistedAtMs === null;
      // A live token of a deleted user (Django keeps its row with no user) could come to name a user
      // created here later: left out. A blacklisted one is imported whatever it names: refusing is safe.
      if (live && (row.userId === null || token.userId === '' || conflicting.has(token.userId) || conflicting.has(String(row.userId)))) {
        tokens.skipped++;
        continue;
      }
      batch.push(token);
    }
    const outcome = await store.importTokens(batch, { nowMs, leewayMs, horizonMs, reason: IMPORT_REASON });
    tokens.read += rows.length;
    tokens.recorded += outcome.recorded;
    tokens.blacklisted += outcome.blacklisted;
    tokens.unchanged += outcome.unchanged;
    progress({ phase: 'tokens', done: tokens.read, total: tokenTotal });
    if (rows.length < batchSize) break;
  }
  return report;
}

/**
 * What revocable keeps of an outstanding token: the claims it will be presented with (read from the
 * raw token, which is then dropped) and Django's bookkeeping. The user id comes from the token's claim,
 * as revocable compares it (the row's user is null for tokens `.blacklist()` recorded itself, as Simple
 * JWT before 5.5 does for the refresh tokens rotation mints); the expiry from the row.
 */
function importedToken(row: DjangoTokenRow, settings: Pick<Settings, 'userIdClaim' | 'tokenTypeClaim'>): ImportedToken {
  const claims = claimsOf(row.token);
  const claimed = claims?.[settings.userIdClaim];
  const userId =
    typeof claimed === 'number' || (typeof claimed === 'string' && claimed !== '')
      ? String(claimed)
      : row.userId !== null
        ? String(row.userId)
        : '';
  const iat = claims?.iat;
  return {
    jti: row.jti,
    userId,
    tokenType: claims?.[settings.tokenTypeClaim] === 'sliding' ? 'sliding' : 'refresh',
    issuedAtMs: typeof iat === 'number' && Number.isFinite(iat) ? Math.floor(iat) * 1000 : (row.createdAtMs ?? 0),
    expiresAtMs: row.expiresAtMs,
    blacklistedAtMs: row.blacklistedAtMs,
  };
}

/** The payload of a JWT, unverified (Django wrote it), or undefined when it is not one. */
function claimsOf(token: string): Record<string, unknown> | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return claims !== null && typeof claims === 'object' && !Array.isArray(claims) ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
