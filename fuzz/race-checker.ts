/**
 * The race checker: many virtual clients log in, refresh (rotation on, reuse detection, no grace),
 * log out, log out everywhere, change passwords and get revoked by an admin, all at once, against the
 * real Fastify server (`app.inject`) on a real database (a SQLite file, or PostgreSQL). Every request is
 * logged with its start and end (a monotonic clock); afterwards the log is checked against the
 * invariants of docs/security.md:
 *
 * 1. revoked user: a token minted before an acknowledged revoke-all (logout-all, password change,
 *    admin revoke) started is refused by every validation that starts after the acknowledgement; so is
 *    any token of a session that logged in with a password that an acknowledged change retired;
 * 2. revoked session: after an acknowledged logout, blacklisting, or a refresh refused as reuse, no
 *    token of the session validates; nor does a refresh token after its rotation was acknowledged;
 * 3. single use: no refresh token is redeemed (200) more than once;
 * 4. password: a password retired by an acknowledged change never logs in afterwards, and only one
 *    change from a given old password is acknowledged (changes are compare-and-set);
 * 5. durability: every acknowledged revocation is in the store (user generation, session row, the
 *    revocation log) and, after a restart on the same database, still refuses the tokens it revoked;
 * 6. liveness (against a checker that refuses everything): a token that nothing can have revoked is
 *    accepted.
 *
 * Only what the log proves is checked: when a revocation and a mint or a validation overlap in time,
 * their order is unknown and the pair is skipped.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { type Auth, createAuth } from '../src/auth.ts';
import { buildServer } from '../src/http/fastify.ts';
import type { SettingsInput } from '../src/settings/settings.ts';
import { FAST_HASHING, FUZZ_SIGNING_KEY, countingLogger } from './setup.ts';

// ---------------------------------------------------------------------------------------------------
// The log

type OpKind =
  | 'login'
  | 'login-retired-password'
  | 'refresh'
  | 'refresh-double'
  | 'refresh-reuse'
  | 'verify'
  | 'me'
  | 'logout'
  | 'logout-all'
  | 'password'
  | 'admin-revoke-user'
  | 'blacklist';

interface Op {
  id: number;
  client: number;
  user: number;
  kind: OpKind;
  /** performance.now() when the request was sent, and when its answer was in. */
  start: number;
  end: number;
  /** HTTP status; 200 for an admin call that resolved, 0 for one that threw. */
  status: number;
  /** The answer's `detail`, for refusals. */
  detail?: string;
  /** The token presented (its jti), if any. */
  presented?: string;
  /** Tokens the answer minted (jtis). */
  minted: string[];
  /** Login: the password sent. Password change: the old one (its new one in `newPassword`). */
  password?: string;
  newPassword?: string;
}

interface TokenRecord {
  token: string;
  jti: string;
  sid: string;
  type: 'access' | 'refresh';
  user: number;
  /** The op that minted it. */
  mintedBy: number;
  /** The password of the login that started its session. */
  originPassword: string;
  /** exp in ms. */
  expiresAtMs: number;
}

export interface RaceOptions {
  durationMs: number;
  clients: number;
  users: number;
  /** `sqlite` (a file in `directory`) or a `postgres://` URL (migrated by the checker; give it a fresh schema). */
  database: { kind: 'sqlite'; directory: string } | { kind: 'postgres'; url: string };
  seed: number;
  /** Largest number of tokens checked in each final sweep (before and after the restart). */
  sweepLimit?: number;
  log?: (line: string) => void;
  /** Writes the client-side log, one request per line (JSON: kind, client, user, start, end, status, tokens), to this file. */
  logFile?: string;
  /** Breaks the server on purpose (after every start), to show that the checks catch what they should. */
  sabotage?: (auth: Auth) => void;
}

export interface RaceReport {
  store: string;
  seed: number;
  durationMs: number;
  clients: number;
  users: number;
  /** Requests per kind, and per kind and status. */
  operations: Record<string, number>;
  statuses: Record<string, Record<string, number>>;
  tokensMinted: number;
  /** Invariant → number of checks made. */
  checks: Record<string, number>;
  /** Invariant → violations (with examples). */
  violations: Record<string, number>;
  examples: string[];
  /** Things worth knowing that no invariant forbids. */
  observations: Record<string, number>;
  /** Library failures logged (background tasks) and 5xx answers. */
  serverErrors: string[];
}

/** Ops sorted by a key, with the running maximum of another value (and the op that holds it). */
interface OpIndex {
  keys: number[];
  prefixMax: number[];
  prefixOp: Op[];
}

function indexOps(list: Op[], key: (op: Op) => number, value: (op: Op) => number): OpIndex {
  const sorted = [...list].sort((a, b) => key(a) - key(b));
  const index: OpIndex = { keys: [], prefixMax: [], prefixOp: [] };
  let best: Op | undefined;
  for (const op of sorted) {
    if (!best || value(op) > value(best)) best = op;
    index.keys.push(key(op));
    index.prefixMax.push(value(best));
    index.prefixOp.push(best);
  }
  return index;
}

/** The last position whose key is below `at`, or -1. */
function lastBefore(index: OpIndex, at: number): number {
  let low = 0;
  let high = index.keys.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (index.keys[middle]! < at) {
      found = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found;
}

/** A seeded PRNG (mulberry32): the clients' choices are reproducible, the interleaving is not. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const decodeClaims = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

const SETTINGS: SettingsInput = {
  signingKey: FUZZ_SIGNING_KEY,
  rotateRefreshTokens: true,
  blacklistAfterRotation: true,
  reuseGraceSeconds: 0,
  // Long enough that no token expires during a run: every refusal the checker sees is a revocation.
  accessTokenLifetime: '2h',
  refreshTokenLifetime: '1d',
  // Fifty clients share one address, and logging in with a retired password is part of the workload.
  loginFailuresPerUsername: 0,
  loginFailuresPerIp: 0,
  loginAttemptsPerIp: 0,
};

// ---------------------------------------------------------------------------------------------------
// The run

interface Server {
  auth: Auth;
  app: FastifyInstance;
  errors: string[];
}

async function startServer(url: string, sabotage?: (auth: Auth) => void): Promise<Server> {
  const logger = countingLogger();
  const auth = await createAuth({ settings: SETTINGS, database: url, passwordHashing: FAST_HASHING, logger });
  sabotage?.(auth);
  const app = await buildServer(auth);
  await app.ready();
  return { auth, app, errors: logger.errors };
}

async function stopServer(server: Server): Promise<void> {
  await server.app.close();
  await server.auth.close();
}

export async function runRaceChecker(options: RaceOptions): Promise<RaceReport> {
  const log = options.log ?? (() => {});
  const url = options.database.kind === 'sqlite' ? `sqlite:${join(options.database.directory, 'race.db')}` : options.database.url;
  const storeName = options.database.kind === 'sqlite' ? 'SQLite (file, synchronous=FULL)' : 'PostgreSQL';
  let server = await startServer(url, options.sabotage);
  const random = prng(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;

  const ops: Op[] = [];
  const tokens = new Map<string, TokenRecord>();
  const recent: TokenRecord[] = [];
  const serverErrors: string[] = [];

  // Users and what the clients know of their passwords.
  const userIds: number[] = [];
  const passwords: { candidates: string[]; retired: string[]; changes: number }[] = [];
  for (let i = 0; i < options.users; i++) {
    const password = `initial password of user ${i}`;
    const user = await server.auth.users.create({ username: `racer${i}`, password });
    userIds.push(user.id);
    passwords.push({ candidates: [password], retired: [], changes: 0 });
  }

  const inject = async (request: InjectOptions) => {
    const res = await server.app.inject(request);
    if (res.statusCode >= 500) serverErrors.push(`${res.statusCode} ${JSON.stringify(request).slice(0, 200)}: ${res.body.slice(0, 300)}`);
    return res;
  };
  const post = (url: string, body: unknown, bearer?: string) =>
    inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      payload: JSON.stringify(body),
    });

  let nextId = 0;
  const begin = (client: number, user: number, kind: OpKind, extra: Partial<Op> = {}): Op => {
    const op: Op = { id: nextId++, client, user, kind, start: performance.now(), end: 0, status: 0, minted: [], ...extra };
    ops.push(op);
    return op;
  };
  const finish = (op: Op, status: number, body: string): Op => {
    op.end = performance.now();
    op.status = status;
    if (status >= 400) {
      try {
        const detail = (JSON.parse(body) as { detail?: unknown }).detail;
        if (typeof detail === 'string') op.detail = detail;
      } catch {
        op.detail = body.slice(0, 100);
      }
    }
    return op;
  };
  const record = (op: Op, token: string, type: 'access' | 'refresh', originPassword: string): TokenRecord => {
    const claims = decodeClaims(token);
    const entry: TokenRecord = {
      token,
      jti: String(claims.jti),
      sid: String(claims.sid),
      type,
      user: op.user,
      mintedBy: op.id,
      originPassword,
      expiresAtMs: Number(claims.exp) * 1000,
    };
    tokens.set(entry.jti, entry);
    op.minted.push(entry.jti);
    recent.push(entry);
    if (recent.length > 4000) recent.splice(0, 1000);
    return entry;
  };

  interface ClientState {
    access?: TokenRecord;
    refresh?: TokenRecord;
    /** Refresh tokens this client has rotated (presenting one is reuse). */
    spent: TokenRecord[];
  }

  const deadline = performance.now() + options.durationMs;
  let progressAt = performance.now() + 30_000;

  async function login(client: number, user: number, state: ClientState, retired: boolean): Promise<void> {
    const known = passwords[user]!;
    const password = retired && known.retired.length ? pick(known.retired) : pick(known.candidates);
    const op = begin(client, user, retired ? 'login-retired-password' : 'login', { password });
    const res = await post('/api/token/', { username: `racer${user}`, password });
    finish(op, res.statusCode, res.body);
    if (res.statusCode !== 200) {
      // A candidate that fails while no change of this user is in flight was overwritten: forget it.
      if (!retired && known.candidates.length > 1 && !changing.has(user)) known.candidates = known.candidates.filter((c) => c !== password);
      return;
    }
    const pair = res.json() as { access: string; refresh: string };
    state.access = record(op, pair.access, 'access', password);
    state.refresh = record(op, pair.refresh, 'refresh', password);
  }

  async function refresh(client: number, user: number, state: ClientState, kind: 'refresh' | 'refresh-double' | 'refresh-reuse'): Promise<void> {
    const presented = kind === 'refresh-reuse' ? pick(state.spent) : state.refresh!;
    const copies = kind === 'refresh-double' ? 2 + Math.floor(random() * 2) : 1;
    const answers = await Promise.all(
      Array.from({ length: copies }, async () => {
        const op = begin(client, user, kind, { presented: presented.jti });
        const res = await post('/api/token/refresh/', { refresh: presented.token });
        finish(op, res.statusCode, res.body);
        return { op, res };
      }),
    );
    if (kind === 'refresh-reuse') return;
    state.spent.push(presented);
    if (state.spent.length > 10) state.spent.shift();
    const won = answers.find(({ res }) => res.statusCode === 200);
    if (!won) {
      state.access = undefined;
      state.refresh = undefined;
      return;
    }
    const next = won.res.json() as { access: string; refresh: string };
    state.access = record(won.op, next.access, 'access', presented.originPassword);
    state.refresh = record(won.op, next.refresh, 'refresh', presented.originPassword);
  }

  async function validate(client: number, user: number, token: TokenRecord, how: 'verify' | 'me'): Promise<void> {
    const op = begin(client, token.user, how, { presented: token.jti });
    const res =
      how === 'verify'
        ? await post('/api/token/verify/', { token: token.token })
        : await inject({ method: 'GET', url: '/api/me/', headers: { authorization: `Bearer ${token.token}` } });
    finish(op, res.statusCode, res.body);
    void user;
  }

  const changing = new Set<number>();

  async function act(client: number, user: number, state: ClientState): Promise<void> {
    if (!state.access || !state.refresh) return login(client, user, state, passwords[user]!.retired.length > 0 && random() < 0.1);
    const roll = random() * 100;
    const access = state.access;
    const dropTokens = () => {
      state.access = undefined;
      state.refresh = undefined;
    };
    if (roll < 12) return validate(client, user, access, 'verify');
    if (roll < 20) return validate(client, user, access, 'me');
    if (roll < 38) return refresh(client, user, state, 'refresh');
    if (roll < 40) return refresh(client, user, state, 'refresh-double');
    if (roll < 42 && state.spent.length) return refresh(client, user, state, 'refresh-reuse');
    if (roll < 54 && recent.length) return validate(client, user, pick(recent), random() < 0.5 ? 'verify' : 'me');
    if (roll < 58) return login(client, user, state, false);
    if (roll < 60 && passwords[user]!.retired.length) return login(client, user, state, true);
    if (roll < 64) {
      const op = begin(client, user, 'logout', { presented: access.jti });
      const res = await inject({ method: 'POST', url: '/api/logout/', headers: { authorization: `Bearer ${access.token}` } });
      finish(op, res.statusCode, res.body);
      return dropTokens();
    }
    if (roll < 66) {
      const op = begin(client, user, 'blacklist', { presented: state.refresh.jti });
      const res = await post('/api/token/blacklist/', { refresh: state.refresh.token });
      finish(op, res.statusCode, res.body);
      return dropTokens();
    }
    if (roll < 67.5) {
      const op = begin(client, user, 'logout-all', { presented: access.jti });
      const res = await inject({ method: 'POST', url: '/api/logout-all/', headers: { authorization: `Bearer ${access.token}` } });
      finish(op, res.statusCode, res.body);
      return dropTokens();
    }
    if (roll < 69) {
      const known = passwords[user]!;
      const oldPassword = pick(known.candidates);
      const newPassword = `password ${++known.changes} of user ${user} (client ${client})`;
      const op = begin(client, user, 'password', { presented: access.jti, password: oldPassword, newPassword });
      changing.add(user);
      try {
        const res = await post('/api/password/', { old_password: oldPassword, new_password: newPassword }, access.token);
        finish(op, res.statusCode, res.body);
        if (res.statusCode === 200) {
          known.candidates = [...known.candidates.filter((c) => c !== oldPassword), newPassword];
          if (!known.retired.includes(oldPassword)) known.retired.push(oldPassword);
        }
      } finally {
        changing.delete(user);
      }
      return dropTokens();
    }
    if (roll < 70.5) {
      const op = begin(client, user, 'admin-revoke-user');
      try {
        await server.auth.revokeAllForUser(userIds[user]!, { reason: 'race checker admin' });
        finish(op, 200, '');
      } catch (error) {
        finish(op, 0, String(error));
        serverErrors.push(`revokeAllForUser threw ${String(error)}`);
      }
      return;
    }
    return validate(client, user, access, 'verify');
  }

  const runClient = async (client: number) => {
    const user = client % options.users;
    const state: ClientState = { spent: [] };
    while (performance.now() < deadline) {
      try {
        await act(client, user, state);
      } catch (error) {
        serverErrors.push(`client ${client}: ${(error as Error).stack ?? String(error)}`);
        state.access = undefined;
        state.refresh = undefined;
      }
      if (performance.now() > progressAt) {
        progressAt += 30_000;
        log(`  ${ops.length} requests, ${tokens.size} tokens, ${Math.round((deadline - performance.now()) / 1000)} s left`);
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: options.clients }, (_, client) => runClient(client)));
  const durationMs = performance.now() - started;
  await server.auth.settled();
  log(`  run over: ${ops.length} requests in ${(durationMs / 1000).toFixed(0)} s; checking`);

  // -------------------------------------------------------------------------------------------------
  // The checks

  const checks: Record<string, number> = {};
  const violations: Record<string, number> = {};
  const observations: Record<string, number> = {};
  const examples: string[] = [];
  const check = (invariant: string, ok: boolean, example: () => string) => {
    checks[invariant] = (checks[invariant] ?? 0) + 1;
    if (ok) return;
    violations[invariant] = (violations[invariant] ?? 0) + 1;
    if (examples.length < 30) examples.push(`${invariant}: ${example()}`);
  };
  const observe = (what: string, count = 1) => {
    observations[what] = (observations[what] ?? 0) + count;
  };
  const describeOp = (op: Op) =>
    `#${op.id} ${op.kind} client ${op.client} user ${op.user} [${op.start.toFixed(1)}, ${op.end.toFixed(1)}] → ${op.status}${op.detail ? ` (${op.detail})` : ''}${op.presented ? ` presenting ${op.presented}` : ''}`;

  // What the log says was revoked, and when it was acknowledged.
  interface Revocation {
    op: Op;
    /** For a password change: the password it retired. */
    retired?: string;
  }
  const userRevocations = new Map<number, Revocation[]>();
  /** Every user revocation attempted (acknowledged or not): for liveness, any of them may have committed. */
  const userRevocationAttempts = new Map<number, Op[]>();
  const sessionRevocations = new Map<string, Op[]>();
  /** Ops that may have revoked a session (any logout, blacklist, refresh refused or raced). */
  const sessionTouches = new Map<string, Op[]>();
  const refreshAttempts = new Map<string, Op[]>();
  const redeemed = new Map<string, Op[]>();
  const add = <K, V>(map: Map<K, V[]>, key: K, value: V) => {
    const list = map.get(key);
    if (list) list.push(value);
    else map.set(key, [value]);
  };
  const tokenOf = (jti: string | undefined) => (jti === undefined ? undefined : tokens.get(jti));

  for (const op of ops) {
    const presented = tokenOf(op.presented);
    const userRevoking = op.kind === 'logout-all' || op.kind === 'password' || op.kind === 'admin-revoke-user';
    if (userRevoking) {
      add(userRevocationAttempts, op.user, op);
      const acknowledged = op.kind === 'logout-all' ? op.status === 205 : op.status === 200;
      if (acknowledged) add(userRevocations, op.user, { op, ...(op.kind === 'password' ? { retired: op.password! } : {}) });
    }
    if (op.kind === 'refresh' || op.kind === 'refresh-double' || op.kind === 'refresh-reuse') {
      if (presented) {
        add(refreshAttempts, presented.jti, op);
        if (op.status === 200) add(redeemed, presented.jti, op);
        if (op.status !== 200 || op.kind !== 'refresh') add(sessionTouches, presented.sid, op);
      }
    }
    if ((op.kind === 'logout' || op.kind === 'blacklist') && presented) {
      add(sessionTouches, presented.sid, op);
      const acknowledged = op.kind === 'logout' ? op.status === 205 : op.status === 200;
      if (acknowledged) add(sessionRevocations, presented.sid, op);
    }
  }
  // A refresh refused as reuse ("Token is blacklisted") of a token whose rotation was acknowledged
  // before it started: the refusal comes after the session's revocation committed.
  for (const op of ops) {
    if (!(op.kind === 'refresh' || op.kind === 'refresh-double' || op.kind === 'refresh-reuse') || op.status !== 401) continue;
    const presented = tokenOf(op.presented);
    if (!presented || op.detail !== 'Token is blacklisted') continue;
    const rotated = (redeemed.get(presented.jti) ?? []).some((winner) => winner.end < op.start);
    if (rotated) add(sessionRevocations, presented.sid, op);
  }

  // Indexes, so that each check is a binary search rather than a walk over a user's revocations.
  const acknowledgedByEnd = new Map<number, OpIndex>();
  for (const [user, list] of userRevocations) acknowledgedByEnd.set(user, indexOps(list.map((r) => r.op), (op) => op.end, (op) => op.start));
  const attemptsByStart = new Map<number, OpIndex>();
  for (const [user, list] of userRevocationAttempts) attemptsByStart.set(user, indexOps(list, (op) => op.start, (op) => op.end));
  /** user → retired password → the first acknowledged change that retired it. */
  const retiredBy = new Map<number, Map<string, Op>>();
  for (const [user, list] of userRevocations) {
    const byPassword = new Map<string, Op>();
    for (const { op, retired } of list) {
      const known = retired === undefined ? undefined : byPassword.get(retired);
      if (retired !== undefined && (!known || op.end < known.end)) byPassword.set(retired, op);
    }
    retiredBy.set(user, byPassword);
  }

  /** Why a token must be refused by a validation that starts at `at`, or undefined when nothing proves it. */
  function mustBeRefused(token: TokenRecord, at: number): string | undefined {
    const minted = ops[token.mintedBy]!;
    // An acknowledged revoke-all that ended before `at` and started after the mint ended.
    const byEnd = acknowledgedByEnd.get(token.user);
    const last = byEnd ? lastBefore(byEnd, at) : -1;
    if (byEnd && last >= 0 && byEnd.prefixMax[last]! > minted.end) {
      const op = byEnd.prefixOp[last]!;
      return `user revoked by ${describeOp(op)} after the token was minted by ${describeOp(minted)}`;
    }
    const change = retiredBy.get(token.user)?.get(token.originPassword);
    if (change && change.end < at) {
      return `the session logged in with the password ${describeOp(change)} retired (minted by ${describeOp(minted)})`;
    }
    for (const op of sessionRevocations.get(token.sid) ?? []) {
      if (op.end < at) return `session ${token.sid} revoked by ${describeOp(op)}`;
    }
    if (token.type === 'refresh') {
      for (const op of redeemed.get(token.jti) ?? []) if (op.end < at) return `rotated by ${describeOp(op)}`;
    }
    return undefined;
  }

  /** Whether nothing can have revoked the token by the end of a validation ending at `at`. */
  function surelyLive(token: TokenRecord, at: number, nowMs: number): boolean {
    if (token.expiresAtMs <= nowMs + 60_000) return false;
    const minted = ops[token.mintedBy]!;
    // Any revoke-all attempted that started before `at` and ended after the mint started.
    const byStart = attemptsByStart.get(token.user);
    const last = byStart ? lastBefore(byStart, at) : -1;
    if (byStart && last >= 0 && byStart.prefixMax[last]! >= minted.start) return false;
    for (const op of sessionTouches.get(token.sid) ?? []) if (op.start < at) return false;
    if (token.type === 'refresh') for (const op of refreshAttempts.get(token.jti) ?? []) if (op.start < at) return false;
    return true;
  }

  // 1, 2 and 6 on every validation made during the run.
  const wallAtStart = Date.now() - performance.now();
  for (const op of ops) {
    if (op.kind !== 'verify' && op.kind !== 'me') continue;
    const token = tokenOf(op.presented);
    if (!token) continue;
    const reason = mustBeRefused(token, op.start);
    if (reason !== undefined) {
      check('revoked token refused (during the run)', op.status === 401, () => `${describeOp(op)} accepted ${token.type} ${token.jti}: ${reason}`);
    } else if (surelyLive(token, op.end, wallAtStart + op.end)) {
      // /api/me/ accepts access tokens only.
      if (op.kind === 'me' && token.type !== 'access') continue;
      check('live token accepted (during the run)', op.status === 200, () => `${describeOp(op)} refused live ${token.type} ${token.jti}`);
    }
  }

  // 3: single use.
  for (const [jti, winners] of redeemed) {
    check('refresh token redeemed at most once', winners.length <= 1, () => `${jti} redeemed ${winners.length} times: ${winners.map(describeOp).join('; ')}`);
  }
  for (const op of ops) {
    if (op.kind === 'refresh-reuse' && op.status === 200) observe('reuse answered 200');
  }

  // 4: retired passwords.
  for (const op of ops) {
    if (op.kind !== 'login' && op.kind !== 'login-retired-password') continue;
    const change = op.password === undefined ? undefined : retiredBy.get(op.user)?.get(op.password);
    if (change && change.end < op.start) {
      check('retired password never logs in', op.status !== 200, () => `${describeOp(op)} logged in with the password ${describeOp(change)} retired`);
    }
  }
  // A password is changed with the current password only: two acknowledged changes from the same old
  // password mean the later one overwrote the earlier, whose caller's new password never worked.
  for (const list of userRevocations.values()) {
    const byOldPassword = new Map<string, Op[]>();
    for (const { op, retired } of list) if (retired !== undefined) add(byOldPassword, retired, op);
    for (const changes of byOldPassword.values()) {
      check('one acknowledged password change per old password', changes.length === 1, () => `${changes.length} changes from one old password: ${changes.map(describeOp).join('; ')}`);
    }
  }

  // 5 and a final sweep, before and after a restart.
  const endAt = performance.now();
  const mustRefuse: [TokenRecord, string][] = [];
  const mustAccept: TokenRecord[] = [];
  for (const token of tokens.values()) {
    const reason = mustBeRefused(token, endAt);
    if (reason !== undefined) mustRefuse.push([token, reason]);
    else if (surelyLive(token, endAt, Date.now())) mustAccept.push(token);
  }
  const limit = options.sweepLimit ?? 50_000;
  const sample = <T>(list: T[]) => (list.length <= limit ? list : list.filter((_, i) => i % Math.ceil(list.length / limit) === 0));

  async function sweep(phase: string): Promise<void> {
    const verify = async (token: TokenRecord) => {
      const res = await post('/api/token/verify/', { token: token.token });
      return { status: res.statusCode, body: res.body };
    };
    const refused = sample(mustRefuse);
    for (let i = 0; i < refused.length; i += 16) {
      const batch = refused.slice(i, i + 16);
      const answers = await Promise.all(batch.map(([token]) => verify(token)));
      answers.forEach((answer, k) => {
        const [token, reason] = batch[k]!;
        check(`revoked token refused (${phase})`, answer.status === 401 && answer.body.includes('Token is blacklisted'), () => `${token.type} ${token.jti} answered ${answer.status} ${answer.body}: ${reason}`);
      });
    }
    const accepted = sample(mustAccept);
    for (let i = 0; i < accepted.length; i += 16) {
      const batch = accepted.slice(i, i + 16);
      const answers = await Promise.all(batch.map((token) => verify(token)));
      answers.forEach((answer, k) => {
        const token = batch[k]!;
        check(`live token accepted (${phase})`, answer.status === 200, () => `${token.type} ${token.jti} answered ${answer.status} ${answer.body}`);
      });
    }
  }

  async function durability(phase: string): Promise<void> {
    const { store } = server.auth;
    const nowMs = Date.now();
    const entries = await store.loadRevocations(nowMs, 0, 365 * 86_400_000);
    const loggedTokens = new Set(entries.filter((e) => e.kind === 'token').map((e) => e.subject));
    const loggedSessions = new Set(entries.filter((e) => e.kind === 'session').map((e) => e.subject));
    const loggedGenerations = new Map<string, number>();
    for (const entry of entries) {
      if (entry.kind === 'user') loggedGenerations.set(entry.subject, Math.max(entry.generation, loggedGenerations.get(entry.subject) ?? 0));
    }
    for (let user = 0; user < options.users; user++) {
      const acknowledged = userRevocations.get(user)?.length ?? 0;
      const attempted = (userRevocationAttempts.get(user) ?? []).filter((op) => op.status >= 500 || op.status === 0).length;
      const generation = await store.userGeneration(String(userIds[user]));
      check(`acknowledged revoke-alls recorded: user generation (${phase})`, generation >= acknowledged && generation <= acknowledged + attempted, () => `user ${user}: generation ${generation}, ${acknowledged} acknowledged`);
      if (acknowledged > 0) {
        const logged = loggedGenerations.get(String(userIds[user])) ?? 0;
        check(`acknowledged revoke-alls recorded: revocation log (${phase})`, logged >= acknowledged, () => `user ${user}: log says generation ${logged}, ${acknowledged} acknowledged`);
      }
    }
    for (const [sid, revocations] of sessionRevocations) {
      const session = await store.findSession(sid);
      check(`acknowledged session revocations recorded: session row (${phase})`, session !== undefined && session.revokedAtMs !== null, () => `session ${sid} (${revocations.map(describeOp).join('; ')}): ${JSON.stringify(session)}`);
      // A refresh refused as reuse may have been refused by the user's revoke-all instead (then the log has
      // the user's entry, not the session's; the bookkeeping marks the session row).
      const first = revocations.reduce((a, b) => (a.end <= b.end ? a : b));
      const byUser = (userRevocationAttempts.get(first.user) ?? []).some((op) => op.start < first.end);
      const explicit = revocations.some((op) => op.kind === 'logout' || op.kind === 'blacklist');
      if (explicit || !byUser) {
        check(`acknowledged session revocations recorded: revocation log (${phase})`, loggedSessions.has(sid), () => `session ${sid} (${revocations.map(describeOp).join('; ')}) not in the log`);
      }
    }
    for (const [jti, winners] of sample([...redeemed])) {
      check(`acknowledged rotations recorded: token no longer live (${phase})`, !(await store.isTokenLive(jti)), () => `${jti} rotated by ${describeOp(winners[0]!)} is still live`);
      check(`acknowledged rotations recorded: revocation log (${phase})`, loggedTokens.has(jti), () => `${jti} rotated by ${describeOp(winners[0]!)} not in the log`);
    }
    for (const op of ops) {
      if (op.kind !== 'blacklist' || op.status !== 200 || !op.presented) continue;
      check(`acknowledged blacklistings recorded (${phase})`, !(await store.isTokenLive(op.presented)), () => `${describeOp(op)}: still live`);
    }
  }

  if (options.logFile) {
    const lines = ops.map((op) => {
      const token = tokenOf(op.presented);
      return JSON.stringify({ ...op, presentedSession: token?.sid, presentedType: token?.type });
    });
    writeFileSync(options.logFile, `${lines.join('\n')}\n`);
  }

  await durability('before the restart');
  await sweep('before the restart');
  log('  restarting on the same database');
  serverErrors.push(...server.errors.map((error) => `logged: ${error}`));
  await stopServer(server);
  server = await startServer(url, options.sabotage);
  await durability('after the restart');
  await sweep('after the restart');
  serverErrors.push(...server.errors.map((error) => `logged: ${error}`));
  await stopServer(server);

  const operations: Record<string, number> = {};
  const statuses: Record<string, Record<string, number>> = {};
  for (const op of ops) {
    operations[op.kind] = (operations[op.kind] ?? 0) + 1;
    const byStatus = statuses[op.kind] ?? {};
    statuses[op.kind] = byStatus;
    byStatus[op.status] = (byStatus[op.status] ?? 0) + 1;
  }
  return {
    store: storeName,
    seed: options.seed,
    durationMs,
    clients: options.clients,
    users: options.users,
    operations,
    statuses,
    tokensMinted: tokens.size,
    checks,
    violations,
    examples,
    observations,
    serverErrors,
  };
}

/** A report as text. */
export function formatRaceReport(report: RaceReport): string {
  const total = (record: Record<string, number>) => Object.values(record).reduce((sum, n) => sum + n, 0);
  const lines = [
    `${report.store}: ${report.clients} clients over ${report.users} users for ${(report.durationMs / 1000).toFixed(0)} s (seed ${report.seed}): ` +
      `${total(report.operations)} requests, ${report.tokensMinted} tokens minted; ${total(report.checks)} invariant checks, ${total(report.violations)} violations, ${report.serverErrors.length} server errors`,
    '  operations:',
  ];
  for (const [kind, count] of Object.entries(report.operations).sort((a, b) => b[1] - a[1])) {
    const statuses = Object.entries(report.statuses[kind] ?? {})
      .sort((a, b) => b[1] - a[1])
      .map(([status, n]) => `${status} ${n}`)
      .join(', ');
    lines.push(`    ${kind}: ${count} (${statuses})`);
  }
  lines.push('  checks:');
  for (const [invariant, count] of Object.entries(report.checks)) {
    lines.push(`    ${invariant}: ${count} checked, ${report.violations[invariant] ?? 0} violations`);
  }
  if (Object.keys(report.observations).length) {
    lines.push('  observations:');
    for (const [what, count] of Object.entries(report.observations)) lines.push(`    ${what}: ${count}`);
  }
  for (const example of report.examples) lines.push(`  VIOLATION ${example}`);
  for (const error of report.serverErrors.slice(0, 20)) lines.push(`  SERVER ERROR ${error.slice(0, 600)}`);
  return lines.join('\n');
}
