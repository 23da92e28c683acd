import { Migrator, type Kysely, type SqlBool, sql } from 'kysely';
import { UserExistsError } from '../../errors.ts';
import type {
  AuditQuery,
  AuditRecord,
  ClientRecord,
  NewUser,
  OutstandingToken,
  RefreshOutcome,
  RevocationEntry,
  SessionRecord,
  SessionSummary,
  SigningKeyRecord,
  UserPatch,
  UserRecord,
} from '../records.ts';
import { type FlushCounts, type FlushOptions, type LoginGuard, type NewSession, type RefreshRequest, type Store, type UserChange, UserChangedError } from '../store.ts';
import { flushExpiredIn } from './flush.ts';
import type {
  ImportTokensOptions,
  ImportedToken,
  ImportedTokensOutcome,
  ImportedUser,
  ImportedUsersOutcome,
} from '../imports.ts';
import { importTokensIn, importUsersIn } from './import.ts';
import { type SqlDialectName, migrationProvider } from './migrations.ts';
import { useRefreshTokenIn } from './refresh.ts';
import { fromSigningKey, toEntry, toSession, toSigningKey, toUser } from './rows.ts';
import type { Database } from './schema.ts';
import {
  appendLog,
  insertBlacklisted,
  insertOutstanding,
  markSessionsRevoked,
  readGeneration,
  revokeSessionIn,
  stillRelevant,
  updateUserIn,
} from './statements.ts';

/** The {@link Store} over any Kysely dialect; one class, every SQL database. */
export class SqlStore implements Store {
  readonly db: Kysely<Database>;
  readonly dialect: SqlDialectName;
  private readonly isUniqueViolation: (error: unknown) => boolean;

  constructor(db: Kysely<Database>, dialect: SqlDialectName, isUniqueViolation: (error: unknown) => boolean) {
    this.db = db;
    this.dialect = dialect;
    this.isUniqueViolation = isUniqueViolation;
  }

  /**
   * Every transaction runs at READ COMMITTED or stronger-by-locks semantics: MySQL's default REPEATABLE
   * READ would keep a losing rotation's re-read on its first snapshot, blind to the winner's commit.
   */
  private transaction() {
    const builder = this.db.transaction();
    return this.dialect === 'mysql' ? builder.setIsolationLevel('read committed') : builder;
  }

  async migrate(): Promise<void> {
    // Kysely looks for its bookkeeping tables in every schema; pin them to ours (search_path may name one).
    const schema =
      this.dialect === 'postgres'
        ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(this.db)).rows[0]?.schema
        : undefined;
    const migrator = new Migrator({
      db: this.db,
      provider: migrationProvider(this.dialect),
      ...(schema ? { migrationTableSchema: schema } : {}),
    });
    const { error } = await migrator.migrateToLatest();
    if (error) throw error;
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  async ping(timeoutMs = 1000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the database did not answer within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([sql`select 1`.execute(this.db), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async createUser(user: NewUser): Promise<UserRecord> {
    try {
      const result = await this.db
        .insertInto('users')
        .values({
          username: user.username,
          password: user.password,
          is_active: user.isActive ? 1 : 0,
          is_staff: user.isStaff ? 1 : 0,
          date_joined_ms: user.dateJoinedMs,
          last_login_ms: null,
        })
        .executeTakeFirst();
      const id = result.insertId !== undefined ? Number(result.insertId) : undefined;
      const created = id !== undefined ? await this.findUserById(id) : await this.findUserByUsername(user.username);
      return created!;
    } catch (error) {
      if (this.isUniqueViolation(error)) throw new UserExistsError(user.username);
      throw error;
    }
  }

  async findUserById(id: number): Promise<UserRecord | undefined> {
    if (!Number.isSafeInteger(id)) return undefined;
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toUser(row);
  }

  async findUserByUsername(username: string): Promise<UserRecord | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    return row && toUser(row);
  }

  async updateUser(id: number, patch: UserPatch): Promise<boolean> {
    if (Object.keys(patch).length === 0) return (await this.findUserById(id)) !== undefined;
    return updateUserIn(this.db, id, patch);
  }

  async deleteUser(id: number): Promise<boolean> {
    const result = await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  // Admin (the admin pages, src/admin/): reads only.
  async searchUsers(search: { query: string; offset: number; limit: number }): Promise<{ users: UserRecord[]; total: number }> {
    // `!` escapes LIKE's wildcards: a backslash would need doubling in MySQL's string literals.
    const pattern = `%${search.query.replace(/[!%_]/g, (char) => `!${char}`)}%`;
    const matching = sql<SqlBool>`lower(username) like lower(${pattern}) escape '!'`;
    const filtered = search.query === '' ? this.db.selectFrom('users') : this.db.selectFrom('users').where(matching);
    const rows = await filtered
      .selectAll()
      .orderBy('username')
      .orderBy('id')
      .limit(Math.max(0, Math.floor(search.limit)))
      .offset(Math.max(0, Math.floor(search.offset)))
      .execute();
    const counted = await filtered.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirst();
    return { users: rows.map(toUser), total: Number(counted?.total ?? 0) };
  }

  async recentSessions(userId: string, limit: number): Promise<SessionRecord[]> {
    const rows = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('last_used_at_ms', 'desc')
      .orderBy('id')
      .limit(Math.max(0, Math.floor(limit)))
      .execute();
    return rows.map(toSession);
  }

  async createClient(client: ClientRecord): Promise<void> {
    await this.db
      .insertInto('oauth_clients')
      .values({
        client_id: client.clientId,
        secret_hash: client.secretHash,
        name: client.name,
        created_at_ms: client.createdAtMs,
      })
      .execute();
  }

  async findClient(clientId: string): Promise<ClientRecord | undefined> {
    const row = await this.db.selectFrom('oauth_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    return row && { clientId: row.client_id, secretHash: row.secret_hash, name: row.name, createdAtMs: Number(row.created_at_ms) };
  }

  async appendAudit(records: AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.db
      .insertInto('audit_events')
      .values(
        records.map((record) => ({
          at_ms: record.atMs,
          action: record.action,
          actor: record.actor,
          user_id: record.userId,
          subject: record.subject,
          reason: record.reason,
          ip: record.ip,
        })),
      )
      .execute();
  }

  async listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    let select = this.db.selectFrom('audit_events').selectAll();
    if (query.userId !== undefined) select = select.where('user_id', '=', query.userId);
    if (query.sinceMs !== undefined) select = select.where('at_ms', '>=', query.sinceMs);
    if (query.actions?.length) select = select.where('action', 'in', query.actions);
    if (query.beforeId !== undefined) select = select.where('id', '<', query.beforeId);
    const rows = await select.orderBy('id', 'desc').limit(query.limit).execute();
    return rows.map((row) => ({
      id: Number(row.id),
      atMs: Number(row.at_ms),
      action: row.action,
      actor: row.actor,
      userId: row.user_id,
      subject: row.subject,
      reason: row.reason,
      ip: row.ip,
    }));
  }

  async countAuditByHour(sinceMs: number, actions: string[]): Promise<{ hourMs: number; action: string; count: number }[]> {
    if (actions.length === 0) return [];
    // Integer division on every dialect: MySQL's `/` is decimal.
    const hour = this.dialect === 'mysql' ? sql<number>`at_ms div 3600000` : sql<number>`at_ms / 3600000`;
    const rows = await this.db
      .selectFrom('audit_events')
      .select([hour.as('hour'), 'action', (eb) => eb.fn.countAll<number>().as('count')])
      .where('at_ms', '>=', sinceMs)
      .where('action', 'in', actions)
      .groupBy([hour, 'action'])
      .execute();
    return rows.map((row) => ({ hourMs: Number(row.hour) * 3_600_000, action: row.action, count: Number(row.count) }));
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const rows = await this.db.selectFrom('signing_keys').selectAll().orderBy('created_at_ms').orderBy('kid').execute();
    return rows.map(toSigningKey);
  }

  async addSigningKey(key: SigningKeyRecord): Promise<void> {
    await this.db.insertInto('signing_keys').values(fromSigningKey(key)).execute();
  }

  activateSigningKey(kid: string, activatesAtMs: number, verifyUntilMs: number): Promise<boolean> {
    return this.transaction().execute(async (trx) => {
      const activated = await trx
        .updateTable('signing_keys')
        .set({ activates_at_ms: activatesAtMs })
        .where('kid', '=', kid)
        .where('activates_at_ms', 'is', null)
        .executeTakeFirst();
      if (Number(activated.numUpdatedRows) === 0) return false;
      await trx
        .updateTable('signing_keys')
        .set({ verify_until_ms: verifyUntilMs })
        .where('kid', '!=', kid)
        .where('activates_at_ms', 'is not', null)
        .where('verify_until_ms', 'is', null)
        .execute();
      return true;
    });
  }

  async isTokenLive(jti: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('outstanding_tokens as o')
      .select('o.jti')
      .where('o.jti', '=', jti)
      .where('o.rotated_at_ms', 'is', null)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('blacklisted_tokens as b').select('b.jti').whereRef('b.jti', '=', 'o.jti'))))
      .executeTakeFirst();
    return row !== undefined;
  }

  async startSession(
    session: NewSession,
    refresh: Omit<OutstandingToken, 'generation'>,
    loginGuard?: LoginGuard,
  ): Promise<{ generation: number } | undefined> {
    return this.transaction().execute(async (trx) => {
      if (loginGuard) {
        // A row lock (PostgreSQL, MySQL) makes a concurrent password change or deactivation, which
        // updates this row, either finish before this read or wait for this login to commit.
        const query = trx.selectFrom('users').select(['password', 'is_active']).where('id', '=', loginGuard.userRowId);
        const user = await (this.dialect === 'sqlite' ? query : query.forUpdate()).executeTakeFirst();
        if (!user || user.password !== loginGuard.passwordHash || !Number(user.is_active)) return undefined;
        if (loginGuard.upgradedHash) {
          await trx.updateTable('users').set({ password: loginGuard.upgradedHash }).where('id', '=', loginGuard.userRowId).execute();
        }
      }
      const generation = await readGeneration(trx, session.userId);
      await trx
        .insertInto('sessions')
        .values({
          id: session.id,
          user_id: session.userId,
          generation,
          created_at_ms: session.createdAtMs,
          last_used_at_ms: session.createdAtMs,
          expires_at_ms: session.expiresAtMs,
          user_agent: session.userAgent,
          ip: session.ip,
          revoked_at_ms: null,
          revoked_reason: null,
        })
        .execute();
      await insertOutstanding(trx, { ...refresh, generation });
      return { generation };
    });
  }

  userGeneration(userId: string): Promise<number> {
    return readGeneration(this.db, userId);
  }

  useRefreshToken(request: RefreshRequest): Promise<RefreshOutcome> {
    return this.transaction().execute((trx) => useRefreshTokenIn(trx, this.dialect, request));
  }

  async findSession(id: string): Promise<SessionRecord | undefined> {
    const row = await this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toSession(row);
  }

  async listSessions(userId: string, nowMs: number): Promise<SessionSummary[]> {
    const generation = await readGeneration(this.db, userId);
    const rows = await this.db
      .selectFrom('sessions')
      .select(['id', 'created_at_ms', 'last_used_at_ms', 'user_agent', 'ip'])
      .where('user_id', '=', userId)
      .where('revoked_at_ms', 'is', null)
      .where('expires_at_ms', '>', nowMs)
      .where('generation', '>=', generation)
      .orderBy('last_used_at_ms', 'desc')
      .orderBy('id')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      createdAtMs: Number(row.created_at_ms),
      lastUsedAtMs: Number(row.last_used_at_ms),
      userAgent: row.user_agent,
      ip: row.ip,
    }));
  }

  async revokeOtherSessions(
    userId: string,
    keepSessionId: string,
    reason: string,
    nowMs: number,
    horizonMs: number,
  ): Promise<RevocationEntry[]> {
    return this.transaction().execute(async (trx) => {
      const others = await trx
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', userId)
        .where('id', '!=', keepSessionId)
        .where('revoked_at_ms', 'is', null)
        .where('expires_at_ms', '>', nowMs)
        .execute();
      const entries: RevocationEntry[] = [];
      // A user has a handful of sessions; each needs its own log entry for the cache.
      for (const { id } of others) {
        const entry = await revokeSessionIn(trx, this.dialect, id, reason, nowMs, horizonMs);
        if (entry) entries.push(entry);
      }
      return entries;
    });
  }

  async blacklistToken(
    token: { jti: string; userId: string; expiresAtMs: number; sessionId?: string },
    reason: string,
    nowMs: number,
    horizonMs: number,
  ): Promise<RevocationEntry[]> {
    return this.transaction().execute(async (trx) => {
      const entries: RevocationEntry[] = [];
      const inserted = await insertBlacklisted(trx, this.dialect, token.jti, token.userId, token.expiresAtMs, reason, nowMs);
      if (inserted) {
        entries.push(
          await appendLog(trx, this.dialect, {
            kind: 'token',
            subject: token.jti,
            user_id: token.userId,
            generation: null,
            at_ms: nowMs,
            expires_at_ms: token.expiresAtMs,
          }),
        );
      }
      if (token.sessionId !== undefined) {
        const entry = await revokeSessionIn(trx, this.dialect, token.sessionId, reason, nowMs, horizonMs);
        if (entry) entries.push(entry);
      }
      return entries;
    });
  }

  revokeSession(sessionId: string, reason: string, nowMs: number, horizonMs: number) {
    return this.transaction().execute((trx) => revokeSessionIn(trx, this.dialect, sessionId, reason, nowMs, horizonMs));
  }

  async revokeUser(
    userId: string,
    reason: string,
    nowMs: number,
    horizonMs: number,
    alsoChangeUser?: UserChange,
  ) {
    return this.transaction().execute(async (trx) => {
      if (alsoChangeUser?.patch) {
        // A conditional write: of two password changes that checked the same old password, the second
        // finds the hash changed (PostgreSQL and MySQL re-check the row once the first commits) and rolls back.
        const written = await updateUserIn(trx, alsoChangeUser.id, alsoChangeUser.patch, alsoChangeUser.ifPasswordIs);
        if (!written && alsoChangeUser.ifPasswordIs !== undefined) throw new UserChangedError();
      }
      if (alsoChangeUser?.delete) await trx.deleteFrom('users').where('id', '=', alsoChangeUser.id).execute();
      // One upsert: concurrent revoke-alls of one user each raise the generation, none is lost.
      const insert = trx
        .insertInto('user_revocations')
        .values({ user_id: userId, generation: 1, revoked_at_ms: nowMs, reason, marked_generation: 0 });
      const raise = { generation: sql<number>`user_revocations.generation + 1`, revoked_at_ms: nowMs, reason };
      if (this.dialect === 'mysql') {
        await insert.onDuplicateKeyUpdate({ ...raise, generation: sql<number>`generation + 1` }).execute();
      } else {
        await insert.onConflict((conflict) => conflict.column('user_id').doUpdateSet(raise)).execute();
      }
      const generation = await readGeneration(trx, userId);
      const entry = await appendLog(trx, this.dialect, {
        kind: 'user',
        subject: userId,
        user_id: userId,
        generation,
        at_ms: nowMs,
        expires_at_ms: nowMs + horizonMs,
      });
      return entry as RevocationEntry & { kind: 'user' };
    });
  }

  async markUserTokensBlacklisted(
    userId: string,
    generation: number,
    reason: string,
    nowMs: number,
    range: { afterJti: string | null; limit: number },
  ) {
    return this.transaction().execute(async (trx) => {
      if (range.afterJti === null) return markSessionsRevoked(trx, this.dialect, userId, generation, reason, nowMs, range.limit);
      const afterJti = range.afterJti;
      // The range's upper key: walking by key keeps every step O(limit), however many rows came before.
      const boundary = await trx
        .selectFrom('outstanding_tokens')
        .select('jti')
        .where('user_id', '=', userId)
        .where('jti', '>', afterJti)
        .orderBy('jti')
        .limit(1)
        .offset(range.limit - 1)
        .executeTakeFirst();
      const textType = sql.raw(this.dialect === 'mysql' ? 'char' : 'text');
      const insert = trx
        .insertInto('blacklisted_tokens')
        .columns(['jti', 'user_id', 'expires_at_ms', 'blacklisted_at_ms', 'reason'])
        .expression((eb) => {
          let rows = eb
            .selectFrom('outstanding_tokens as o')
            .select([
              'o.jti',
              'o.user_id',
              'o.expires_at_ms',
              sql.lit(nowMs).as('blacklisted_at_ms'),
              sql<string>`cast(${reason} as ${textType})`.as('reason'),
            ])
            .where('o.user_id', '=', userId)
            .where('o.jti', '>', afterJti)
            .where('o.generation', '<', generation)
            .where('o.expires_at_ms', '>', nowMs)
            .where((w) => w.not(w.exists(w.selectFrom('blacklisted_tokens as b').select('b.jti').whereRef('b.jti', '=', 'o.jti'))));
          if (boundary) rows = rows.where('o.jti', '<=', boundary.jti);
          return rows;
        });
      // Another instance may be marking the same user: a row already there is fine.
      const result = await (this.dialect === 'mysql'
        ? insert.ignore()
        : insert.onConflict((conflict) => conflict.column('jti').doNothing())
      ).executeTakeFirst();
      return { marked: Number(result.numInsertedOrUpdatedRows ?? 0), afterJti: boundary?.jti ?? null, done: false };
    });
  }

  async unmarkedUserRevocations() {
    const rows = await this.db
      .selectFrom('user_revocations')
      .select(['user_id', 'generation', 'reason'])
      .whereRef('marked_generation', '<', 'generation')
      .execute();
    return rows.map((row) => ({ userId: row.user_id, generation: row.generation, reason: row.reason }));
  }

  async loadRevocations(nowMs: number, afterSeq: number, horizonMs: number, missing: number[] = []): Promise<RevocationEntry[]> {
    const rows = await this.db
      .selectFrom('revocation_log')
      .selectAll()
      .where((eb) => (missing.length ? eb.or([eb('seq', '>', afterSeq), eb('seq', 'in', missing)]) : eb('seq', '>', afterSeq)))
      .where(stillRelevant(nowMs, horizonMs))
      .orderBy('seq')
      .execute();
    return rows.map((row) => toEntry(row));
  }

  flushExpired(nowMs: number, horizonMs: number, options?: FlushOptions): Promise<FlushCounts> {
    return flushExpiredIn(this.db, this.dialect, nowMs, horizonMs, options);
  }

  // Import ------------------------------------------------------------------------------------------

  importUsers(users: ImportedUser[]): Promise<ImportedUsersOutcome> {
    return this.transaction().execute((trx) => importUsersIn(trx, this.dialect, users));
  }

  importTokens(tokens: ImportedToken[], options: ImportTokensOptions): Promise<ImportedTokensOutcome> {
    return this.transaction().execute((trx) => importTokensIn(trx, this.dialect, tokens, options));
  }


}
