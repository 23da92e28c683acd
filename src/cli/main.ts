import { userInfo } from 'node:os';
import { Command, CommanderError } from 'commander';
import { runAs } from '../audit/actor.ts';
import { RevocableError } from '../errors.ts';
import { addClient, createUser, deactivateUser, flushExpired, migrate, revokeUser } from './commands/admin.ts';
import { generateKey, listKeys, rotateKeys } from './commands/keys.ts';
import { importDjango } from './commands/import-django.ts';
import { audit } from './commands/audit.ts';
import { serve } from './commands/serve.ts';
import { CliError } from './context.ts';

const print = (line: string) => process.stdout.write(`${line}\n`);

function operator(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

const program = new Command()
  .name('revocable')
  .description('JWT authentication with real revocation (Simple JWT compatible)')
  .addHelpText(
    'after',
    '\nConfiguration comes from the environment: DATABASE_URL (default sqlite:./revocable.db),\n' +
      'REVOCABLE_SIGNING_KEY (or REVOCABLE_SIGNING_KEY_FILE), REVOCABLE_VERIFYING_KEY (or _FILE),\n' +
      'REVOCABLE_ALGORITHM, REVOCABLE_ACCESS_TOKEN_LIFETIME, REVOCABLE_REFRESH_TOKEN_LIFETIME,\n' +
      'REVOCABLE_ROTATE_REFRESH_TOKENS, REVOCABLE_BLACKLIST_AFTER_ROTATION, REVOCABLE_FLUSH_EXPIRED_INTERVAL,\n' +
      'HOST, PORT;\n' +
      'for several instances: REDIS_URL or REVOCABLE_BUS=postgres, REVOCABLE_REVOCATION_POLL_INTERVAL,\n' +
      'REVOCABLE_MAX_REVOCATION_STALENESS, REVOCABLE_FAIL_OPEN (docs/deployment.md).',
  )
  .exitOverride();

program
  .command('serve')
  .description('run the HTTP server (applies migrations first)')
  .option('--host <host>', 'address to listen on (default $HOST or 127.0.0.1)')
  .option('--port <port>', 'port to listen on (default $PORT or 8000)')
  .action((options) => serve(options));

program
  .command('migrate')
  .description('apply pending database migrations')
  .action(() => migrate(print));

program
  .command('create-user <username>')
  .description('create a user (prompts for the password when --password is not given)')
  .option('--password <password>', 'the password')
  .option('--staff', 'make the user staff')
  .option('--inactive', 'create the user inactive')
  .action((username, options) => createUser(username, options, print));

program
  .command('revoke-user <username>')
  .description("revoke every token of a user, access tokens included")
  .option('--reason <reason>', 'recorded with the revocation')
  .action((username, options) => revokeUser(username, options, print));

program
  .command('deactivate-user <username>')
  .description('deactivate a user and revoke every token of the user')
  .action((username) => deactivateUser(username, print));

program
  .command('clients')
  .description('OAuth clients of /oauth/introspect and /oauth/revoke')
  .command('add <name>')
  .description('register a client and print its id and secret (shown once)')
  .action((name) => addClient(name, print));

const keys = program.command('keys').description('signing keys: generate, rotate, list (docs/deployment.md)');

keys
  .command('generate')
  .description('add a standby key: it verifies, and is published in the JWKS when asymmetric, but does not sign yet')
  .option('--algorithm <algorithm>', 'the key\'s algorithm (default $REVOCABLE_ALGORITHM or HS256)')
  .action((options) => generateKey(options, print));

keys
  .command('rotate')
  .description('make the oldest standby key (a new one if none) sign after a delay; the current key keeps verifying')
  .option('--algorithm <algorithm>', 'the algorithm of the key generated when none waits (default $REVOCABLE_ALGORITHM or HS256)')
  .option('--delay <duration>', 'when the new key starts signing, e.g. 60s, 5m (default 60s)')
  .action((options) => rotateKeys(options, print));

keys
  .command('list')
  .description('the managed keys: kid, algorithm, state and times (never a private key)')
  .action(() => listKeys(print));

program
  .command('audit')
  .description('the audit trail, newest first: revocations (who, what, why) and logins')
  .option('--user <username>', 'only lines about this user')
  .option('--since <when>', 'only lines since a date (2026-11-29T10:00Z) or a duration ago (1h, 7d)')
  .option('--limit <n>', 'at most this many lines (default 100, at most 1000)')
  .option('--json', 'one JSON object per line')
  .action((options) => audit(options, print));

program
  .command('import-django')
  .description('import users, password hashes and Simple JWT outstanding and blacklisted tokens from a Django database; safe to run again')
  .requiredOption('--from <url>', 'the Django database: sqlite:/path/db.sqlite3 or postgres://user:password@host/db')
  .option('--user-table <table>', 'the user table of a custom user model (default auth_user)')
  .option('--batch-size <rows>', 'rows read and written per transaction (default 1000)')
  .action((options) => importDjango(options, print));

program
  .command('flush-expired')
  .description('delete expired tokens, blacklist rows, sessions and log entries, in batches (a progress bar on a terminal)')
  .option('--batch-size <rows>', 'rows per DELETE statement and transaction (default 5000)')
  .action((options) => flushExpired(options, print));

try {
  // Revocations made by a command are audited as the operator's.
  await runAs({ actor: `cli:${operator()}` }, () => program.parseAsync(process.argv));
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  const message =
    error instanceof CliError || error instanceof RevocableError
      ? error.message
      : `unexpected error: ${(error as Error)?.stack ?? error}`;
  process.stderr.write(`revocable: ${message}\n`);
  process.exit(1);
}
