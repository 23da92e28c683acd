import type { RefreshOutcome, RevocationEntry } from './records.ts';
import type { SqliteConnection } from './sqlite-driver.ts';
import { toEntry, toSession } from './sql/rows.ts';
import type { RevocationLogTable, SessionsTable } from './sql/schema.ts';
import type { RefreshRequest } from './store.ts';

/**
 * `useRefreshToken` on SQLite: the logic of sql/refresh.ts (which the other databases run through
 * Kysely), as prepared statements run synchronously, and with group commit.
 *
 * - **Fewer statements**: one read answers the token row, its session, whether it is blacklisted and the
 *   user's generation; a rotation then writes five rows (consume, blacklist, log, successor, session).
 * - **Group commit**: the refreshes that arrive during one turn of the event loop run in one
 *   `BEGIN IMMEDIATE … COMMIT`, so they share one WAL sync (`synchronous = FULL`). Each runs in a
 *   savepoint of its own, in arrival order, and sees what the ones before it wrote: the conditional
 *   consume (`… WHERE rotated_at_ms IS NULL`) keeps every token single-use within a batch as across
 *   batches, and a reuse revokes its session before a later refresh of that session is looked at. A
 *   refresh that fails rolls back to its savepoint alone; if the transaction itself is lost (the
 *   commit fails, or an error such as a full disk makes SQLite abandon it), every refresh of the batch
 *   fails. No refresh is answered before the commit returned: what is acknowledged is as durable as
 *   with one transaction per refresh, one sync per batch instead of one per refresh.
 *
 * The batch holds the store's one connection (see sqlite-driver.ts) from BEGIN to COMMIT without
 * yielding, so it never interleaves with a Kysely transaction of the same store; another process on
 * the same file waits for it at BEGIN IMMEDIATE, as for any transaction.
 */
/** At most this many refreshes per transaction, so that one batch holds the event loop a few ms at most. */
const MAX_BATCH = 64;

export class SqliteRefresher {
  private readonly connection: SqliteConnection;
  /** Prepared on the first batch: the tables exist once the store is migrated. */
  private statements: Statements | undefined;
  private queue: Pending[] = [];
  private scheduled = false;
  /** Settles when the batch being committed (if any) has been. */
  private running: Promise<void> = Promise.resolve();

  constructor(connection: SqliteConnection) {
    this.connection = connection;
  }

  useRefreshToken(request: RefreshRequest): Promise<RefreshOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.running = this.flush();
        });
      }
    });
  }

  /** Settles once every refresh queued so far has been answered. */
  async drain(): Promise<void> {
    while (this.scheduled || this.queue.length > 0) {
      await new Promise((resolve) => setImmediate(resolve));
      await this.running;
    }
    await this.running;
  }

  private async flush(): Promise<void> {
    if (!this.connection.tryLock()) await this.connection.lock();
    // Whatever queued while the connection was busy joins this batch.
    const batch = this.queue.length > MAX_BATCH ? this.queue.splice(0, MAX_BATCH) : this.queue;
    if (batch === this.queue) this.queue = [];
    try {
      this.statements ??= statementsOf(this.connection);
      runBatch(this.connection.database, this.statements, batch);
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      this.connection.unlock();
      if (this.queue.length > 0) {
        setImmediate(() => {
          this.running = this.flush();
        });
      } else {
        this.scheduled = false;
      }
    }
  }
}

interface Pending {
  request: RefreshRequest;
  resolve(outcome: RefreshOutcome): void;
  reject(error: unknown): void;
}

type Settled = { ok: true; outcome: RefreshOutcome } | { ok: false; error: unknown };

/** Runs a batch in one transaction; answers every refresh after the commit (or fails them all). */
function runBatch(database: SqliteConnection['database'], statements: Statements, batch: Pending[]): void {
  const settled: Settled[] = [];
  try {
    statements.begin.run();
    const savepoints = batch.length > 1;
    for (const pending of batch) {
      if (savepoints) statements.savepoint.run();
      try {
        settled.push({ ok: true, outcome: useRefreshToken(statements, pending.request) });
        if (savepoints) statements.release.run();
      } catch (error) {
        // Some errors (disk full, I/O) end the whole transaction: then nothing of the batch stands.
        if (!database.inTransaction) throw error;
        if (savepoints) {
          statements.rollbackToSavepoint.run();
          statements.release.run();
          settled.push({ ok: false, error });
        } else {
          throw error;
        }
      }
    }
    statements.commit.run();
  } catch (error) {
    if (database.inTransaction) statements.rollback.run();
    for (const pending of batch) pending.reject(error);
    return;
  }
  for (let i = 0; i < batch.length; i++) {
    const result = settled[i]!;
    if (result.ok) batch[i]!.resolve(result.outcome);
    else batch[i]!.reject(result.error);
  }
}

/** The token's row, its session's, whether it is blacklisted and the user's generation: one read. */
const LOOKUP = `select o.user_id, o.session_id, o.generation, o.rotated_at_ms, o.replaced_by, o.expires_at_ms,
  s.id as s_id, s.user_id as s_user_id, s.generation as s_generation, s.created_at_ms as s_created_at_ms,
  s.last_used_at_ms as s_last_used_at_ms, s.expires_at_ms as s_expires_at_ms, s.user_agent as s_user_agent,
  s.ip as s_ip, s.revoked_at_ms as s_revoked_at_ms, s.revoked_reason as s_revoked_reason,
  exists (select 1 from blacklisted_tokens b where b.jti = o.jti) as blacklisted,
  coalesce((select u.generation from user_revocations u where u.user_id = ?), 0) as user_generation
from outstanding_tokens o left join sessions s on s.id = o.session_id
where o.jti = ?`;

interface LookupRow {
  user_id: string;
  session_id: string;
  generation: number;
  rotated_at_ms: number | null;
  replaced_by: string | null;
  expires_at_ms: number;
  s_id: string | null;
  s_user_id: string;
  s_generation: number;
  s_created_at_ms: number;
  s_last_used_at_ms: number;
  s_expires_at_ms: number;
  s_user_agent: string | null;
  s_ip: string | null;
  s_revoked_at_ms: number | null;
  s_revoked_reason: string | null;
  blacklisted: number;
  user_generation: number;
}

function statementsOf(connection: SqliteConnection) {
  const s = (sql: string) => connection.statement(sql);
  return {
    begin: s('begin immediate'),
    commit: s('commit'),
    rollback: s('rollback'),
    savepoint: s('savepoint refresh'),
    release: s('release refresh'),
    rollbackToSavepoint: s('rollback to refresh'),
    lookup: s(LOOKUP),
    userRevocation: s('select generation, revoked_at_ms from user_revocations where user_id = ?'),
    adoptSession: s(
      `insert into sessions (id, user_id, generation, created_at_ms, last_used_at_ms, expires_at_ms, user_agent, ip,
        revoked_at_ms, revoked_reason) values (?, ?, ?, ?, ?, ?, null, null, null, null) on conflict (id) do nothing`,
    ),
    adoptToken: s(
      `insert into outstanding_tokens (jti, user_id, session_id, token_type, generation, issued_at_ms, expires_at_ms,
        rotated_at_ms, replaced_by) values (?, ?, ?, ?, ?, ?, ?, null, null) on conflict (jti) do nothing`,
    ),
    insertSuccessor: s(
      `insert into outstanding_tokens (jti, user_id, session_id, token_type, generation, issued_at_ms, expires_at_ms,
        rotated_at_ms, replaced_by) values (?, ?, ?, ?, ?, ?, ?, null, null)`,
    ),
    consume: s('update outstanding_tokens set rotated_at_ms = ?, replaced_by = ? where jti = ? and rotated_at_ms is null'),
    rotation: s('select session_id, rotated_at_ms, replaced_by from outstanding_tokens where jti = ?'),
    blacklist: s(
      `insert into blacklisted_tokens (jti, user_id, expires_at_ms, blacklisted_at_ms, reason) values (?, ?, ?, ?, ?)
        on conflict (jti) do nothing`,
    ),
    appendLog: s(
      'insert into revocation_log (kind, subject, user_id, generation, at_ms, expires_at_ms) values (?, ?, ?, ?, ?, ?)',
    ),
    touchSession: s('update sessions set last_used_at_ms = ?, expires_at_ms = ? where id = ?'),
    revokeSession: s(
      'update sessions set revoked_at_ms = ?, revoked_reason = ? where id = ? and revoked_at_ms is null returning user_id',
    ),
  };
}

type Statements = ReturnType<typeof statementsOf>;

/** sql/refresh.ts's `useRefreshTokenIn`, statement for statement where it matters. */
function useRefreshToken(statements: Statements, request: RefreshRequest): RefreshOutcome {
  let row = statements.lookup.get(request.userId, request.jti) as LookupRow | undefined;
  if (!row) {
    if (!request.acceptUntracked) return { status: 'untracked' };
    row = adoptUntracked(statements, request);
  }
  if (row.user_id !== request.userId) return { status: 'untracked' };
  if (row.s_id === null || row.s_revoked_at_ms !== null) return { status: 'revoked' };
  const generation = row.user_generation;
  if ((request.generation ?? row.generation) < generation) return { status: 'revoked' };
  const sessionEndsAtMs = request.sessionMaxLifetimeMs == null ? null : row.s_created_at_ms + request.sessionMaxLifetimeMs;
  if (sessionEndsAtMs !== null && request.nowMs >= sessionEndsAtMs) return { status: 'expired' };
  if (row.rotated_at_ms !== null) return reused(statements, request, row);
  if (row.blacklisted) return { status: 'revoked' };

  const revocations: RevocationEntry[] = [];
  let nextExpiresAtMs: number | null = null;
  if (request.rotate) {
    const { next, blacklistOld } = request.rotate;
    nextExpiresAtMs = Math.min(next.expiresAtMs, sessionEndsAtMs ?? Number.POSITIVE_INFINITY);
    // The conditional write that makes rotation single-use, as on every database.
    if (statements.consume.run(request.nowMs, next.jti, request.jti).changes !== 1) {
      const winner = statements.rotation.get(request.jti) as Rotation;
      return reused(statements, request, winner);
    }
    if (blacklistOld) statements.blacklist.run(request.jti, row.user_id, row.expires_at_ms, request.nowMs, 'rotated');
    revocations.push(
      appendLog(statements, {
        kind: 'token',
        subject: request.jti,
        user_id: row.user_id,
        generation: null,
        at_ms: request.nowMs,
        expires_at_ms: row.expires_at_ms,
      }),
    );
    statements.insertSuccessor.run(next.jti, next.userId, next.sessionId, next.tokenType, generation, next.issuedAtMs, nextExpiresAtMs);
  }

  const expiresAtMs = Math.max(row.s_expires_at_ms, nextExpiresAtMs ?? 0, request.mintsUntilMs);
  statements.touchSession.run(request.nowMs, expiresAtMs, row.s_id);
  const session: SessionsTable = {
    id: row.s_id,
    user_id: row.s_user_id,
    generation: row.s_generation,
    created_at_ms: row.s_created_at_ms,
    last_used_at_ms: request.nowMs,
    expires_at_ms: expiresAtMs,
    user_agent: row.s_user_agent,
    ip: row.s_ip,
    revoked_at_ms: row.s_revoked_at_ms,
    revoked_reason: row.s_revoked_reason,
  };
  return { status: 'ok', generation, session: toSession(session), sessionEndsAtMs, nextExpiresAtMs, revocations };
}

type Rotation = Pick<LookupRow, 'session_id' | 'rotated_at_ms' | 'replaced_by'>;

/** A rotated token came back: forgiven within the grace window as the live token's predecessor, else the session is revoked. */
function reused(statements: Statements, request: RefreshRequest, row: Rotation): RefreshOutcome {
  const { graceMs, horizonMs } = request.reuse;
  if (graceMs > 0 && row.rotated_at_ms !== null && request.nowMs - row.rotated_at_ms <= graceMs && row.replaced_by) {
    const successor = statements.rotation.get(row.replaced_by) as Rotation | undefined;
    if (successor && successor.rotated_at_ms === null) {
      return { status: 'reused', sessionId: row.session_id, sessionRevoked: false, revocations: [] };
    }
  }
  // The conditional write decides: of concurrent revocations of one session, one logs it.
  const revoked = statements.revokeSession.get(request.nowMs, 'refresh_reuse', row.session_id) as { user_id: string } | undefined;
  if (!revoked) return { status: 'revoked' };
  const entry = appendLog(statements, {
    kind: 'session',
    subject: row.session_id,
    user_id: revoked.user_id,
    generation: null,
    at_ms: request.nowMs,
    expires_at_ms: request.nowMs + horizonMs,
  });
  return { status: 'reused', sessionId: row.session_id, sessionRevoked: true, revocations: [entry] };
}

function appendLog(statements: Statements, row: Omit<RevocationLogTable, 'seq'>): RevocationEntry {
  const { lastInsertRowid } = statements.appendLog.run(row.kind, row.subject, row.user_id, row.generation, row.at_ms, row.expires_at_ms);
  return toEntry({ ...row, seq: Number(lastInsertRowid) });
}

/** A validly signed token minted elsewhere: a session of its own, keyed by its jti (see sql/refresh.ts). */
function adoptUntracked(statements: Statements, request: RefreshRequest): LookupRow {
  const revocation = statements.userRevocation.get(request.userId) as { generation: number; revoked_at_ms: number } | undefined;
  const generation = revocation ? revocation.generation : 0;
  const issuedAfterRevokeAll =
    !revocation || Math.floor(request.issuedAtMs / 1000) > Math.floor(revocation.revoked_at_ms / 1000);
  const tokenGeneration = request.generation ?? (issuedAfterRevokeAll ? generation : generation - 1);
  statements.adoptSession.run(
    request.sessionId,
    request.userId,
    tokenGeneration,
    request.issuedAtMs,
    request.nowMs,
    request.expiresAtMs,
  );
  statements.adoptToken.run(
    request.jti,
    request.userId,
    request.sessionId,
    'refresh',
    tokenGeneration,
    request.issuedAtMs,
    request.expiresAtMs,
  );
  return statements.lookup.get(request.userId, request.jti) as LookupRow;
}
