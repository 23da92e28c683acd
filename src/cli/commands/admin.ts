import { ValidationError } from '../../errors.ts';
import { CliError, openAuth } from '../context.ts';
import { promptHidden } from '../prompt.ts';
import { type ProgressStream, progressBar } from '../progress.ts';
import type { FlushCounts, FlushProgress } from '../../store/store.ts';

type Print = (line: string) => void;

/** A database URL fit to print: its password replaced. */
function withoutPassword(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]+):[^@/]*@/i, '$1:***@');
}

/** `revocable migrate`: applies pending migrations (every other command does too). */
export async function migrate(print: Print): Promise<void> {
  const { auth, config } = await openAuth({ createKey: false });
  await auth.close();
  print(`migrations applied to ${withoutPassword(config.databaseUrl)}`);
}

/** `revocable create-user`. */
export async function createUser(
  username: string,
  options: { password?: string; staff?: boolean; inactive?: boolean },
  print: Print,
): Promise<void> {
  let password = options.password;
  if (password === undefined) {
    if (!process.stdin.isTTY) throw new CliError('--password is required when no terminal is attached');
    password = await promptHidden(`Password for ${username}: `);
    const again = await promptHidden('Password (again): ');
    if (password !== again) throw new CliError('the passwords do not match');
  }
  const { auth } = await openAuth({ createKey: false });
  try {
    const user = await auth.users.create({
      username,
      password,
      isStaff: options.staff ?? false,
      isActive: !options.inactive,
    });
    print(`created user "${user.username}" (id ${user.id}${user.isStaff ? ', staff' : ''}${user.isActive ? '' : ', inactive'})`);
  } catch (error) {
    if (error instanceof ValidationError) {
      const [field, messages] = Object.entries(error.fields)[0] ?? ['input', ['invalid']];
      throw new CliError(`${field}: ${messages.join(' ')}`);
    }
    throw error;
  } finally {
    await auth.close();
  }
}

/** `revocable revoke-user`: every token of the user, access tokens included, dies now. */
export async function revokeUser(username: string, options: { reason?: string }, print: Print): Promise<void> {
  const { auth } = await openAuth({ createKey: false });
  try {
    const user = await auth.users.findByUsername(username);
    if (!user) throw new CliError(`no user named "${username}"`);
    const userId = auth.settings.userIdField === 'username' ? user.username : user.id;
    const { generation } = await auth.revokeAllForUser(userId, { reason: options.reason ?? 'cli' });
    print(`revoked every token of "${username}" (revocation generation ${generation})`);
  } finally {
    await auth.close();
  }
}

/** `revocable deactivate-user`: the user can no longer log in, and every token of the user dies now. */
export async function deactivateUser(username: string, print: Print): Promise<void> {
  const { auth } = await openAuth({ createKey: false });
  try {
    const user = await auth.users.findByUsername(username);
    if (!user) throw new CliError(`no user named "${username}"`);
    await auth.users.setActive(user.id, false);
    print(`deactivated "${username}" and revoked every token of the user`);
  } finally {
    await auth.close();
  }
}

/** `revocable clients add`: a client for introspection and revocation; its secret is shown once. */
export async function addClient(name: string, print: Print): Promise<void> {
  const { auth } = await openAuth({ createKey: false });
  try {
    const client = await auth.clients.create(name);
    print(`client_id: ${client.clientId}`);
    print(`client_secret: ${client.clientSecret}`);
    print('(the secret is not stored and will not be shown again)');
  } finally {
    await auth.close();
  }
}

/** `revocable flush-expired`: Simple JWT's `flushexpiredtokens`, in batches, with a progress bar on a terminal. */
export async function flushExpired(
  options: { batchSize?: string },
  print: Print,
  stderr: ProgressStream & { isTTY?: boolean } = process.stderr,
): Promise<void> {
  let batchSize: number | undefined;
  if (options.batchSize !== undefined) {
    batchSize = Number(options.batchSize);
    if (!/^\d+$/.test(options.batchSize) || batchSize < 1) {
      throw new CliError(`--batch-size must be a whole number of rows, at least 1, got "${options.batchSize}"`);
    }
  }
  const { auth } = await openAuth({ createKey: false });
  // A bar only where someone watches; piped or logged, the final line alone.
  const bar = stderr.isTTY ? progressBar(stderr, 'flushing expired rows') : undefined;
  const total = (counts: FlushCounts) => counts.outstandingTokens + counts.blacklistedTokens + counts.sessions + counts.revocationLog;
  try {
    const counts = await auth.flushExpired({
      ...(batchSize !== undefined ? { batchSize } : {}),
      ...(bar ? { onProgress: ({ deleted, expected }: FlushProgress) => bar.update(total(deleted), total(expected)) } : {}),
    });
    bar?.finish();
    print(
      `deleted ${counts.outstandingTokens} outstanding tokens, ${counts.blacklistedTokens} blacklisted tokens, ` +
        `${counts.sessions} sessions and ${counts.revocationLog} revocation log entries, all expired`,
    );
  } finally {
    bar?.finish();
    await auth.close();
  }
}
