import { type Transaction, sql } from 'kysely';
import type {
  ImportTokensOptions,
  ImportedToken,
  ImportedTokensOutcome,
  ImportedUser,
  ImportedUserConflict,
  ImportedUsersOutcome,
} from '../imports.ts';
import type { SqlDialectName } from './migrations.ts';
import { outstandingRow } from './rows.ts';
import type { Database } from './schema.ts';
import { revokeSessionIn } from './statements.ts';

/**
 * Bulk, idempotent writes of users and tokens read from another system, one batch per transaction: rows
 * already present are skipped (never duplicated), so an import can run again and again.
 */

/** Hashes revocable writes are PHC strings (`$argon2id$…`); Django's start with their algorithm's name. */
const isOwnHash = (hash: string) => hash.startsWith('$');

export async function importUsersIn(
  trx: Transaction<Database>,
  dialect: SqlDialectName,
  users: ImportedUser[],
): Promise<ImportedUsersOutcome> {
  const outcome: ImportedUsersOutcome = { inserted: 0, unchanged: 0, passwordsUpdated: 0, conflicts: [] };
  if (users.length === 0) return outcome;
  const present = await trx
    .selectFrom('users')
    .select(['id', 'username', 'password'])
    .where((eb) =>
      eb.or([
        eb('id', 'in', users.map((user) => user.id)),
        eb('username', 'in', users.map((user) => user.username)),
      ]),
    )
    .execute();
  const byId = new Map(present.map((row) => [Number(row.id), row]));
  const byUsername = new Map(present.map((row) => [row.username, row]));
  const fresh: ImportedUser[] = [];
  const conflict = (user: ImportedUser, existing: { id: number; username: string }): ImportedUserConflict => ({
    id: user.id,
    username: user.username,
    existing: { id: Number(existing.id), username: existing.username },
  });
  for (const user of users) {
    const sameId = byId.get(user.id);
    if (sameId && sameId.username !== user.username) {
      outcome.conflicts.push(conflict(user, sameId));
      continue;
    }
    if (!sameId) {
      const sameName = byUsername.get(user.username);
      if (sameName) outcome.conflicts.push(conflict(user, sameName));
      else fresh.push(user);
      continue;
    }
    if (sameId.password === user.password || isOwnHash(sameId.password)) {
      outcome.unchanged++;
      continue;
    }
    // Still the other system's hash, changed there since: follow it, unless a login upgrades it meanwhile.
    const updated = await trx
      .updateTable('users')
      .set({ password: user.password })
      .where('id', '=', user.id)
      .where('password', '=', sameId.password)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) > 0) outcome.passwordsUpdated++;
    else outcome.unchanged++;
  }
  if (fresh.length === 0) return outcome;
  await trx
    .insertInto('users')
    .values(
      fresh.map((user) => ({
        id: user.id,
        username: user.username,
        password: user.password,
        is_active: user.isActive ? 1 : 0,
        is_staff: user.isStaff ? 1 : 0,
        last_login_ms: user.lastLoginMs,
        date_joined_ms: user.dateJoinedMs,
      })),
    )
    .execute();
  outcome.inserted = fresh.length;
  // Explicit ids do not move a PostgreSQL identity (SQLite's AUTOINCREMENT and MySQL's AUTO_INCREMENT
  // follow them): without this, the next `create-user` would be handed an imported user's id.
  if (dialect === 'postgres') {
    await sql`
      select setval(s.seq, m.max_id)
      from (select pg_get_serial_sequence('users', 'id')::regclass as seq) s,
           (select max(id) as max_id from users) m
      where m.max_id > coalesce(pg_sequence_last_value(s.seq), 0)`.execute(trx);
  }
  return outcome;
}

export async function importTokensIn(
  trx: Transaction<Database>,
  dialect: SqlDialectName,
  tokens: ImportedToken[],
  options: ImportTokensOptions,
): Promise<ImportedTokensOutcome> {
  const outcome: ImportedTokensOutcome = { recorded: 0, blacklisted: 0, unchanged: 0 };
  if (tokens.length === 0) return outcome;
  const { nowMs, leewayMs, horizonMs, reason } = options;
  const jtis = tokens.map((token) => token.jti);
  const recorded = new Map(
    (await trx.selectFrom('outstanding_tokens').select(['jti', 'session_id']).where('jti', 'in', jtis).execute()).map(
      (row) => [row.jti, row.session_id],
    ),
  );
  const blacklisted = new Set(
    (await trx.selectFrom('blacklisted_tokens').select('jti').where('jti', 'in', jtis).execute()).map((row) => row.jti),
  );
  const userIds = [...new Set(tokens.map((token) => token.userId))];
  const revocations = new Map(
    (
      await trx
        .selectFrom('user_revocations')
        .select(['user_id', 'generation', 'revoked_at_ms'])
        .where('user_id', 'in', userIds)
        .execute()
    ).map((row) => [row.user_id, { generation: Number(row.generation), revokedAtMs: Number(row.revoked_at_ms) }]),
  );
  // As for a token adopted at its first refresh: without a generation claim, it belongs to the user's
  // current generation only if it was issued in a later whole second than the last revoke-all.
  const generationOf = (token: ImportedToken) => {
    const revoked = revocations.get(token.userId);
    if (!revoked) return 0;
    const after = Math.floor(token.issuedAtMs / 1000) > Math.floor(revoked.revokedAtMs / 1000);
    return after ? revoked.generation : revoked.generation - 1;
  };
  const generations = new Map(tokens.map((token) => [token.jti, generationOf(token)]));

  const fresh = tokens.filter((token) => !recorded.has(token.jti));
  if (fresh.length) {
    const sessions = trx.insertInto('sessions').values(
      fresh.map((token) => {
        // Blacklisted there (or already here): a session born revoked. It holds that one token, refused
        // by the token's own log entry, so it needs no session entry.
        const revokedAtMs = token.blacklistedAtMs ?? (blacklisted.has(token.jti) ? nowMs : null);
        return {
          id: token.jti,
          user_id: token.userId,
          generation: generations.get(token.jti) ?? 0,
          created_at_ms: token.issuedAtMs,
          last_used_at_ms: token.issuedAtMs,
          expires_at_ms: token.expiresAtMs,
          user_agent: null,
          ip: null,
          revoked_at_ms: revokedAtMs,
          revoked_reason: revokedAtMs === null ? null : reason,
        };
      }),
    );
    await (dialect === 'mysql' ? sessions.ignore() : sessions.onConflict((oc) => oc.column('id').doNothing())).execute();
    const outstanding = trx.insertInto('outstanding_tokens').values(
      fresh.map((token) =>
        outstandingRow({
          jti: token.jti,
          userId: token.userId,
          sessionId: token.jti,
          tokenType: token.tokenType,
          generation: generations.get(token.jti) ?? 0,
          issuedAtMs: token.issuedAtMs,
          expiresAtMs: token.expiresAtMs,
        }),
      ),
    );
    await (dialect === 'mysql' ? outstanding.ignore() : outstanding.onConflict((oc) => oc.column('jti').doNothing())).execute();
  }

  const toBlacklist = tokens.filter((token) => token.blacklistedAtMs !== null && !blacklisted.has(token.jti));
  if (toBlacklist.length) {
    const rows = trx.insertInto('blacklisted_tokens').values(
      toBlacklist.map((token) => ({
        jti: token.jti,
        user_id: token.userId,
        expires_at_ms: token.expiresAtMs + leewayMs,
        blacklisted_at_ms: token.blacklistedAtMs ?? nowMs,
        reason,
      })),
    );
    await (dialect === 'mysql' ? rows.ignore() : rows.onConflict((oc) => oc.column('jti').doNothing())).execute();
    // The log entries are what every instance's revocation cache refuses the tokens by (verify, blacklist).
    await trx
      .insertInto('revocation_log')
      .values(
        toBlacklist.map((token) => ({
          kind: 'token' as const,
          subject: token.jti,
          user_id: token.userId,
          generation: null,
          at_ms: nowMs,
          expires_at_ms: token.expiresAtMs + leewayMs,
        })),
      )
      .execute();
    // Blacklisted there after an earlier import recorded it live: end its session here too, as a
    // blacklisting here does (access tokens minted here from it carry the session).
    for (const token of toBlacklist) {
      const sessionId = recorded.get(token.jti);
      if (sessionId !== undefined) await revokeSessionIn(trx, dialect, sessionId, reason, nowMs, horizonMs);
    }
  }
  outcome.recorded = fresh.length;
  outcome.blacklisted = toBlacklist.length;
  const changed = new Set([...fresh, ...toBlacklist].map((token) => token.jti));
  outcome.unchanged = tokens.length - changed.size;
  return outcome;
}
