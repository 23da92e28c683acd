import { Command, CommanderError } from 'commander';
import { RevocableError } from '../errors.ts';
import { addClient, createUser, deactivateUser, flushExpired, migrate, revokeUser } from './commands/admin.ts';
import { serve } from './commands/serve.ts';
import { CliError } from './context.ts';

const print = (line: string) => process.stdout.write(`${line}\n`);

const program = new Command()
  .name('revocable')
  .description('JWT authentication with real revocation (Simple JWT compatible)')
  .addHelpText(
    'after',
    '\nConfiguration comes from the environment: DATABASE_URL (default sqlite:./revocable.db),\n' +
      'REVOCABLE_SIGNING_KEY, REVOCABLE_ACCESS_TOKEN_LIFETIME, REVOCABLE_REFRESH_TOKEN_LIFETIME,\n' +
      'REVOCABLE_ROTATE_REFRESH_TOKENS, REVOCABLE_BLACKLIST_AFTER_ROTATION, HOST, PORT;\n' +
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

program
  .command('flush-expired')
  .description('delete expired tokens, blacklist rows, sessions and log entries')
  .action(() => flushExpired(print));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  const message =
    error instanceof CliError || error instanceof RevocableError
      ? error.message
      : `unexpected error: ${(error as Error)?.stack ?? error}`;
  process.stderr.write(`revocable: ${message}\n`);
  process.exit(1);
}
