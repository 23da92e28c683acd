import { systemClock } from '../../clock.ts';
import { type DjangoImportReport, type ImportPhase, importFromDjango } from '../../import/django.ts';
import { type DjangoSource, DjangoSourceError, openDjangoSource } from '../../import/django-source.ts';
import { CliError, openAuth } from '../context.ts';
import { type ProgressBar, type ProgressStream, progressBar } from '../progress.ts';

type Print = (line: string) => void;

/** A database URL fit to print: its password replaced. */
function withoutPassword(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]+):[^@/]*@/i, '$1:***@');
}

/** Conflicts printed one by one; past this many, only counted. */
const CONFLICTS_LISTED = 20;

/**
 * `revocable import-django --from <url>`: users, password hashes and Simple JWT's outstanding and
 * blacklisted tokens from a Django database. Safe to run again: what is here already is skipped.
 */
export async function importDjango(
  options: { from?: string; userTable?: string; batchSize?: string },
  print: Print,
  terminal: { stdout: { isTTY?: boolean }; stderr: ProgressStream & { isTTY?: boolean } } = process,
): Promise<void> {
  if (!options.from) throw new CliError('--from <database url> is required (sqlite:/path/db.sqlite3 or postgres://…)');
  let batchSize: number | undefined;
  if (options.batchSize !== undefined) {
    batchSize = Number(options.batchSize);
    if (!/^\d+$/.test(options.batchSize) || batchSize < 1) {
      throw new CliError(`--batch-size must be a whole number of rows, at least 1, got "${options.batchSize}"`);
    }
  }
  let source: DjangoSource;
  try {
    source = await openDjangoSource(options.from, options.userTable ? { userTable: options.userTable } : {});
  } catch (error) {
    if (error instanceof DjangoSourceError) throw new CliError(error.message);
    throw error;
  }
  let report: DjangoImportReport;
  // A bar only where someone watches; piped or logged, the counts alone.
  const bars = terminal.stdout.isTTY && terminal.stderr.isTTY ? new Map<ImportPhase, ProgressBar>() : undefined;
  try {
    const { auth, config } = await openAuth({ createKey: false });
    try {
      print(`importing from ${withoutPassword(options.from)} into ${withoutPassword(config.databaseUrl)}`);
      report = await importFromDjango(source, {
        store: auth.store,
        settings: auth.settings,
        clock: systemClock,
        ...(batchSize !== undefined ? { batchSize } : {}),
        ...(bars
          ? {
              onProgress: ({ phase, done, total }) => {
                if (!bars.has(phase)) {
                  for (const bar of bars.values()) bar.finish();
                  bars.set(phase, progressBar(terminal.stderr, phase.padEnd(6)));
                }
                bars.get(phase)!.update(done, total);
              },
            }
          : {}),
      });
    } catch (error) {
      if (error instanceof DjangoSourceError) throw new CliError(error.message);
      throw error;
    } finally {
      for (const bar of bars?.values() ?? []) bar.finish();
      await auth.close();
    }
  } finally {
    await source.close();
  }

  const { users, tokens } = report;
  print(
    `users: ${users.read} read: ${users.inserted} imported, ${users.unchanged} already here, ` +
      `${users.passwordsUpdated} password hashes updated from Django, ${users.conflicts.length} conflicts`,
  );
  if (tokens.found) {
    print(
      `tokens: ${tokens.read} read: ${tokens.recorded} recorded, ${tokens.blacklisted} blacklisted, ${tokens.unchanged} already here, ` +
        `${tokens.expired} expired and ${tokens.skipped} of deleted or conflicting users left out`,
    );
  } else {
    print('tokens: none (no token_blacklist tables: Simple JWT\'s blacklist app was not installed)');
  }
  if (users.unsupportedHashes > 0) {
    print(
      `note: ${users.unsupportedHashes} users have a password hash revocable cannot check (an unusable password, ` +
        'or a hasher other than pbkdf2_sha256): they cannot log in until their password is set again',
    );
  }
  if (users.conflicts.length > 0) {
    for (const conflict of users.conflicts.slice(0, CONFLICTS_LISTED)) {
      terminal.stderr.write(
        `revocable: not imported: Django user ${conflict.id} "${conflict.username}": ` +
          `user ${conflict.existing.id} "${conflict.existing.username}" is here already\n`,
      );
    }
    throw new CliError(
      `${users.conflicts.length} Django users were not imported: their id or username belongs to another user here ` +
        '(import into a database without users of its own)',
    );
  }
}
