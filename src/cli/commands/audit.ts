import { parseDuration } from '../../settings/duration.ts';
import type { AuditRecord } from '../../store/records.ts';
import { CliError, openAuth } from '../context.ts';

type Print = (line: string) => void;

/** `--since`: an ISO date (`2026-11-29`, `2026-11-29T10:00Z`) or a duration back from now (`1h`, `7d`). */
export function parseSince(value: string, nowMs: number): number {
  const seconds = parseDuration(value);
  if (seconds !== undefined) return nowMs - seconds * 1000;
  const atMs = Date.parse(value);
  if (Number.isNaN(atMs)) throw new CliError(`--since must be a date (2026-11-29T10:00Z) or a duration (1h, 7d), got "${value}"`);
  return atMs;
}

/** One audit line, readable and greppable: fields that are absent print as `-`. */
export function formatAuditLine(record: AuditRecord): string {
  const quote = (value: string | null) => (value === null ? '-' : /[\s"]/.test(value) ? JSON.stringify(value) : value);
  return [
    new Date(record.atMs).toISOString(),
    record.action.padEnd(22),
    `actor=${quote(record.actor)}`,
    `user=${quote(record.userId)}`,
    `subject=${quote(record.subject)}`,
    `reason=${quote(record.reason)}`,
    `ip=${quote(record.ip)}`,
  ].join('  ');
}

/** `revocable audit`: the audit trail, newest first. */
export async function audit(
  options: { user?: string; since?: string; limit?: string; json?: boolean },
  print: Print,
): Promise<void> {
  const limit = options.limit === undefined ? 100 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError(`--limit must be 1 to 1000, got "${options.limit}"`);
  const { auth } = await openAuth({ createKey: false });
  try {
    let userId: string | undefined;
    if (options.user !== undefined) {
      const user = await auth.users.findByUsername(options.user);
      if (!user) throw new CliError(`no user named "${options.user}"`);
      userId = String(auth.settings.userIdField === 'username' ? user.username : user.id);
    }
    const records = await auth.audit.list({
      limit,
      ...(userId !== undefined ? { userId } : {}),
      ...(options.since !== undefined ? { sinceMs: parseSince(options.since, Date.now()) } : {}),
    });
    for (const record of records) print(options.json ? JSON.stringify(record) : formatAuditLine(record));
    if (!options.json && records.length === 0) print('no audit lines match');
  } finally {
    await auth.close();
  }
}
