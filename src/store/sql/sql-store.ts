import { type ExpressionBuilder, type Kysely, Migrator, type Transaction, sql } from 'kysely';
import { UserExistsError } from '../../errors.ts';
import type {
  ClientRecord,
  NewUser,
  OutstandingToken,
  RefreshOutcome,
  RevocationEntry,
  SessionRecord,
  SessionSummary,
  UserPatch,
  UserRecord,
} from '../records.ts';
import type { FlushCounts, LoginGuard, NewSession, RefreshRequest, Store, UserChange } from '../store.ts';
import { type SqlDialectName, migrationProvider } from './migrations.ts';
import type { Updateable, Selectable } from 'kysely';
import type { Database, RevocationLogTable, SessionsTable } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

type LogRow = Omit<RevocationLogTable, 'seq'>;

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

  async useRefreshToken(request: RefreshRequest): Promise<RefreshOutcome> {
    return this.transaction().execute(async (trx): Promise<RefreshOutcome> => {
      let row = await trx
        .selectFrom('outstanding_tokens')
        .select(['user_id', 'session_id', 'generation', 'rotated_at_ms', 'replaced_by', 'expires_at_ms'])
        .where('jti', '=', request.jti)
        .executeTakeFirst();
      const generation = await readGeneration(trx, request.userId);
      if (!row) {
        if (!request.acceptUntracked) return { status: 'untracked' };
        row = await adoptUntracked(trx, this.dialect, request, generation);
      }
      if (row.user_id !== request.userId) return { status: 'untracked' };

      const session = await trx.selectFrom('sessions').selectAll().where('id', '=', row.session_id).executeTakeFirst();
      if (!session || session.revoked_at_ms !== null) return { status: 'revoked' };
      if ((request.generation ?? row.generation) < generation) return { status: 'revoked' };
      const sessionEndsAtMs =
        request.sessionMaxLifetimeMs == null ? null : Number(session.created_at_ms) + request.sessionMaxLifetimeMs;
      if (sessionEndsAtMs !== null && request.nowMs >= sessionEndsAtMs) return { status: 'expired' };
      if (row.rotated_at_ms !== null) return this.reused(trx, request, row);
      const blacklisted = await trx
        .selectFrom('blacklisted_tokens')
        .select('jti')
        .where('jti', '=', request.jti)
        .executeTakeFirst();
      if (blacklisted) return { status: 'revoked' };

      const revocations: RevocationEntry[] = [];
      let nextExpiresAtMs: number | null = null;
      if (request.rotate) {
        nextExpiresAtMs = Math.min(request.rotate.next.expiresAtMs, sessionEndsAtMs ?? Number.POSITIVE_INFINITY);
        // The conditional write that makes rotation single-use on every database.
        const consumed = await trx
          .updateTable('outstanding_tokens')
          .set({ rotated_at_ms: request.nowMs, replaced_by: request.rotate.next.jti })
          .where('jti', '=', request.jti)
          .where('rotated_at_ms', 'is', null)
          .executeTakeFirst();
        if (Number(consumed.numUpdatedRows) !== 1) {
          const winner = await trx
            .selectFrom('outstanding_tokens')
            .select(['session_id', 'rotated_at_ms', 'replaced_by'])
            .where('jti', '=', request.jti)
            .executeTakeFirstOrThrow();
          return this.reused(trx, request, winner);
        }
        if (request.rotate.blacklistOld) {
          await insertBlacklisted(trx, this.dialect, request.jti, row.user_id, row.expires_at_ms, 'rotated', request.nowMs);
        }
        revocations.push(
          await this.appendLog(trx, {
            kind: 'token',
            subject: request.jti,
            user_id: row.user_id,
            generation: null,
            at_ms: request.nowMs,
            expires_at_ms: row.expires_at_ms,
          }),
        );
        await insertOutstanding(trx, { ...request.rotate.next, expiresAtMs: nextExpiresAtMs, generation });
      }

      const expiresAtMs = Math.max(Number(session.expires_at_ms), nextExpiresAtMs ?? 0, request.mintsUntilMs);
      await trx
        .updateTable('sessions')
        .set({ last_used_at_ms: request.nowMs, expires_at_ms: expiresAtMs })
        .where('id', '=', session.id)
        .execute();
      return {
        status: 'ok',
        generation,
        session: toSession({ ...session, last_used_at_ms: request.nowMs, expires_at_ms: expiresAtMs }),
        sessionEndsAtMs,
        nextExpiresAtMs,
        revocations,
      };
    });
  }

  /**
   * A rotated token came back. Within the grace window, the immediate predecessor of the live token is
   * an honest retry and is only refused; anything else revokes the session, in this transaction.
   */
  private async reused(
    trx: Transaction<Database>,
    request: RefreshRequest,
    row: { session_id: string; rotated_at_ms: number | null; replaced_by: string | null },
  ): Promise<RefreshOutcome> {
    const { graceMs, horizonMs } = request.reuse;
    if (graceMs > 0 && row.rotated_at_ms !== null && request.nowMs - Number(row.rotated_at_ms) <= graceMs && row.replaced_by) {
      const successor = await trx
        .selectFrom('outstanding_tokens')
        .select('rotated_at_ms')
        .where('jti', '=', row.replaced_by)
        .executeTakeFirst();
      if (successor && successor.rotated_at_ms === null) {
        return { status: 'reused', sessionId: row.session_id, sessionRevoked: false, revocations: [] };
      }
    }
    const entry = await this.revokeSessionIn(trx, row.session_id, 'refresh_reuse', request.nowMs, horizonMs);
    if (!entry) return { status: 'revoked' };
    return { status: 'reused', sessionId: row.session_id, sessionRevoked: true, revocations: [entry] };
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
        const entry = await this.revokeSessionIn(trx, id, reason, nowMs, horizonMs);
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
          await this.appendLog(trx, {
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
        const entry = await this.revokeSessionIn(trx, token.sessionId, reason, nowMs, horizonMs);
        if (entry) entries.push(entry);
      }
      return entries;
    });
  }

  revokeSession(sessionId: string, reason: string, nowMs: number, horizonMs: number) {
    return this.transaction().execute((trx) => this.revokeSessionIn(trx, sessionId, reason, nowMs, horizonMs));
  }

  private async revokeSessionIn(
    trx: Transaction<Database>,
    sessionId: string,
    reason: string,
    nowMs: number,
    horizonMs: number,
  ): Promise<RevocationEntry | undefined> {
    // The conditional write decides: of concurrent revocations of one session, one logs it.
    const revoked = await trx
      .updateTable('sessions')
      .set({ revoked_at_ms: nowMs, revoked_reason: reason })
      .where('id', '=', sessionId)
      .where('revoked_at_ms', 'is', null)
      .executeTakeFirst();
    if (Number(revoked.numUpdatedRows) !== 1) return undefined;
    const session = await trx.selectFrom('sessions').select('user_id').where('id', '=', sessionId).executeTakeFirstOrThrow();
    return this.appendLog(trx, {
      kind: 'session',
      subject: sessionId,
      user_id: session.user_id,
      generation: null,
      at_ms: nowMs,
      expires_at_ms: nowMs + horizonMs,
    });
  }


  async revokeUser(
    userId: string,
    reason: string,
    nowMs: number,
    horizonMs: number,
    alsoChangeUser?: UserChange,
  ) {
    return this.transaction().execute(async (trx) => {
      if (alsoChangeUser?.patch) await updateUserIn(trx, alsoChangeUser.id, alsoChangeUser.patch);
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
      const entry = await this.appendLog(trx, {
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

  async flushExpired(nowMs: number, horizonMs: number): Promise<FlushCounts> {
    return this.transaction().execute(async (trx) => {
      const deleted = async (query: { executeTakeFirst(): Promise<{ numDeletedRows: bigint }> }) =>
        Number((await query.executeTakeFirst()).numDeletedRows);
      return {
        outstandingTokens: await deleted(trx.deleteFrom('outstanding_tokens').where('expires_at_ms', '<=', nowMs)),
        blacklistedTokens: await deleted(trx.deleteFrom('blacklisted_tokens').where('expires_at_ms', '<=', nowMs)),
        sessions: await deleted(trx.deleteFrom('sessions').where('expires_at_ms', '<=', nowMs)),
        revocationLog: await deleted(
          trx.deleteFrom('revocation_log').where((eb) => eb.not(stillRelevant(nowMs, horizonMs)(eb))),
        ),
      };
    });
  }

  private async appendLog(trx: Transaction<Database>, row: LogRow): Promise<RevocationEntry> {
    let seq: number;
    if (this.dialect === 'postgres') {
      const inserted = await trx.insertInto('revocation_log').values(row).returning('seq').executeTakeFirstOrThrow();
      seq = Number(inserted.seq);
    } else {
      const inserted = await trx.insertInto('revocation_log').values(row).executeTakeFirstOrThrow();
      seq = Number(inserted.insertId);
    }
    return toEntry({ ...row, seq });
  }
}

/** A step of revoked-session marking: revoked rows leave the (user_id, revoked_at_ms) index range. */
async function markSessionsRevoked(
  trx: Transaction<Database>,
  dialect: SqlDialectName,
  userId: string,
  generation: number,
  reason: string,
  nowMs: number,
  limit: number,
) {
  const update = trx.updateTable('sessions').set({ revoked_at_ms: nowMs, revoked_reason: reason });
  // MySQL has UPDATE … LIMIT but no LIMIT in an IN subquery; the others the other way round.
  const result = await (dialect === 'mysql'
    ? update.where('user_id', '=', userId).where('revoked_at_ms', 'is', null).where('generation', '<', generation).limit(limit)
    : update.where('id', 'in', (eb) =>
        eb
          .selectFrom('sessions')
          .select('id')
          .where('user_id', '=', userId)
          .where('revoked_at_ms', 'is', null)
          .where('generation', '<', generation)
          .limit(limit),
      )
  ).executeTakeFirst();
  const marked = Number(result.numUpdatedRows);
  if (marked >= limit) return { marked: 0, afterJti: null, done: false };
  await trx
    .updateTable('user_revocations')
    .set({ marked_generation: generation })
    .where('user_id', '=', userId)
    .where('marked_generation', '<', generation)
    .execute();
  return { marked: 0, afterJti: null, done: true };
}

/** A log entry that can still match a live token: see `Store.loadRevocations`. */
function stillRelevant(nowMs: number, horizonMs: number) {
  return (eb: ExpressionBuilder<Database, 'revocation_log'>) =>
    eb.or([
      eb('expires_at_ms', '>', nowMs),
      eb.and([eb('kind', '!=', 'token'), eb('at_ms', '>', nowMs - horizonMs)]),
    ]);
}

async function updateUserIn(db: Db, id: number, patch: UserPatch): Promise<boolean> {
  const values: Updateable<Database['users']> = {};
  if (patch.password !== undefined) values.password = patch.password;
  if (patch.isActive !== undefined) values.is_active = patch.isActive ? 1 : 0;
  if (patch.isStaff !== undefined) values.is_staff = patch.isStaff ? 1 : 0;
  if (patch.lastLoginMs !== undefined) values.last_login_ms = patch.lastLoginMs;
  const result = await db.updateTable('users').set(values).where('id', '=', id).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

async function readGeneration(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('user_revocations')
    .select('generation')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row ? Number(row.generation) : 0;
}

async function insertOutstanding(db: Db, token: OutstandingToken): Promise<void> {
  await db
    .insertInto('outstanding_tokens')
    .values({
      jti: token.jti,
      user_id: token.userId,
      session_id: token.sessionId,
      token_type: token.tokenType,
      generation: token.generation,
      issued_at_ms: token.issuedAtMs,
      expires_at_ms: token.expiresAtMs,
      rotated_at_ms: null,
      replaced_by: null,
    })
    .execute();
}

/** Returns whether a row was written (false when the token was already blacklisted). */
async function insertBlacklisted(
  db: Db,
  dialect: SqlDialectName,
  jti: string,
  userId: string,
  expiresAtMs: number,
  reason: string,
  nowMs: number,
): Promise<boolean> {
  const insert = db
    .insertInto('blacklisted_tokens')
    .values({ jti, user_id: userId, expires_at_ms: expiresAtMs, blacklisted_at_ms: nowMs, reason });
  const result = await (dialect === 'mysql' ? insert.ignore() : insert.onConflict((conflict) => conflict.column('jti').doNothing())).executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/**
 * A validly signed refresh token minted elsewhere (Simple JWT): give it a session of its own, keyed by
 * its jti. Without a generation claim it belongs to the current generation only if it was issued after
 * the user's last revoke-all, in a later whole second (fail closed, as the cache does).
 */
async function adoptUntracked(
  trx: Transaction<Database>,
  dialect: SqlDialectName,
  request: RefreshRequest,
  generation: number,
) {
  const revokedAt = await trx
    .selectFrom('user_revocations')
    .select('revoked_at_ms')
    .where('user_id', '=', request.userId)
    .executeTakeFirst();
  const issuedAfterRevokeAll =
    !revokedAt || Math.floor(request.issuedAtMs / 1000) > Math.floor(Number(revokedAt.revoked_at_ms) / 1000);
  const tokenGeneration = request.generation ?? (issuedAfterRevokeAll ? generation : generation - 1);
  // Two first presentations of one token may race: insert-or-ignore, then both read the one row.
  const session = trx.insertInto('sessions').values({
    id: request.sessionId,
    user_id: request.userId,
    generation: tokenGeneration,
    created_at_ms: request.issuedAtMs,
    last_used_at_ms: request.nowMs,
    expires_at_ms: request.expiresAtMs,
    user_agent: null,
    ip: null,
    revoked_at_ms: null,
    revoked_reason: null,
  });
  await (dialect === 'mysql' ? session.ignore() : session.onConflict((conflict) => conflict.column('id').doNothing())).execute();
  const token = trx.insertInto('outstanding_tokens').values({
    jti: request.jti,
    user_id: request.userId,
    session_id: request.sessionId,
    token_type: 'refresh',
    generation: tokenGeneration,
    issued_at_ms: request.issuedAtMs,
    expires_at_ms: request.expiresAtMs,
    rotated_at_ms: null,
    replaced_by: null,
  });
  await (dialect === 'mysql' ? token.ignore() : token.onConflict((conflict) => conflict.column('jti').doNothing())).execute();
  return trx
    .selectFrom('outstanding_tokens')
    .select(['user_id', 'session_id', 'generation', 'rotated_at_ms', 'replaced_by', 'expires_at_ms'])
    .where('jti', '=', request.jti)
    .executeTakeFirstOrThrow();
}

function toUser(row: {
  id: number;
  username: string;
  password: string;
  is_active: number;
  is_staff: number;
  last_login_ms: number | null;
  date_joined_ms: number;
}): UserRecord {
  return {
    id: Number(row.id),
    username: row.username,
    password: row.password,
    isActive: Boolean(Number(row.is_active)),
    isStaff: Boolean(Number(row.is_staff)),
    lastLoginMs: row.last_login_ms === null ? null : Number(row.last_login_ms),
    dateJoinedMs: Number(row.date_joined_ms),
  };
}

function toSession(row: SessionsTable): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    generation: Number(row.generation),
    createdAtMs: Number(row.created_at_ms),
    lastUsedAtMs: Number(row.last_used_at_ms),
    expiresAtMs: Number(row.expires_at_ms),
    userAgent: row.user_agent,
    ip: row.ip,
    revokedAtMs: row.revoked_at_ms === null ? null : Number(row.revoked_at_ms),
    revokedReason: row.revoked_reason,
  };
}

function toEntry(row: Selectable<RevocationLogTable>): RevocationEntry {
  const base = {
    seq: Number(row.seq),
    subject: row.subject,
    userId: row.user_id,
    atMs: Number(row.at_ms),
    expiresAtMs: Number(row.expires_at_ms),
  };
  if (row.kind === 'user') return { ...base, kind: 'user', generation: Number(row.generation) };
  return { ...base, kind: row.kind };
}
