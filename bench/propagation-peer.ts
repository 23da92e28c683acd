/**
 * Instance B of the propagation benchmark, run as a child process (bench/propagation.ts forks it).
 * It opens its own Auth on the shared database (and bus), and for every token it is told to watch it
 * calls `verifyAccess` on each event-loop turn (a `setImmediate` chain, so bus messages and poll timers
 * are served in between, as in a server) until the token is refused, then reports the wall-clock time of
 * that first refusing check: `performance.timeOrigin + performance.now()`, comparable across processes.
 */
import { performance } from 'node:perf_hooks';
import type { Auth } from '../src/auth.ts';
import { TokenRevokedError } from '../src/errors.ts';
import { openBenchAuth } from './fixtures.ts';

export type ToPeer =
  | { type: 'open'; database: string; bus?: string; pollIntervalS: number }
  | { type: 'ping'; id: number }
  | { type: 'watch'; id: number; token: string }
  | { type: 'close' };

export type FromPeer =
  | { type: 'ready' }
  | { type: 'pong'; id: number; t: number }
  | { type: 'armed'; id: number }
  /** `t`: wall-clock ms of the first check that refused the token; `checks` made on it meanwhile. */
  | { type: 'rejected'; id: number; t: number; checks: number; watchedMs: number }
  | { type: 'error'; id?: number; message: string }
  /** `reads`: B's revocation-log reads while open (start and end, wall-clock ms), to explain the poll figures. */
  | { type: 'closed'; warnings: string[]; reads: { start: number; end: number }[] };

const now = () => performance.timeOrigin + performance.now();
const send = (message: FromPeer) => process.send?.(message);
const describe = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

let auth: Auth | undefined;
const warnings: string[] = [];
const reads: { start: number; end: number }[] = [];
/** Tokens being watched: id → token, with when watching began and how many checks were made. */
const watched = new Map<number, { token: string; since: number; checks: number }>();
let spinning = false;

function spin(): void {
  for (const [id, watch] of watched) {
    const t = now();
    watch.checks++;
    try {
      auth!.verifyAccess(watch.token);
    } catch (error) {
      watched.delete(id);
      if (error instanceof TokenRevokedError) {
        send({ type: 'rejected', id, t, checks: watch.checks, watchedMs: t - watch.since });
      } else {
        send({ type: 'error', id, message: `refused for another reason: ${describe(error)}` });
      }
    }
  }
  spinning = watched.size > 0;
  if (spinning) setImmediate(spin);
}

/** Times every read of the revocation log (the poll's, and any other), without changing what it does. */
function watchReads(opened: Auth): void {
  const store = opened.store;
  const load = store.loadRevocations.bind(store);
  store.loadRevocations = async (...args) => {
    const start = now();
    try {
      return await load(...args);
    } finally {
      reads.push({ start, end: now() });
    }
  };
}

async function handle(message: ToPeer): Promise<void> {
  switch (message.type) {
    case 'open':
      auth = await openBenchAuth(message.database, {
        settings: { revocationPollInterval: message.pollIntervalS },
        migrate: false,
        warnings,
        ...(message.bus !== undefined ? { bus: message.bus } : {}),
      });
      watchReads(auth);
      send({ type: 'ready' });
      return;
    case 'ping':
      send({ type: 'pong', id: message.id, t: now() });
      return;
    case 'watch':
      // It must be accepted before anything is revoked, or the measurement means nothing.
      auth!.verifyAccess(message.token);
      watched.set(message.id, { token: message.token, since: now(), checks: 0 });
      send({ type: 'armed', id: message.id });
      if (!spinning) {
        spinning = true;
        setImmediate(spin);
      }
      return;
    case 'close':
      watched.clear();
      await auth?.close();
      // The parent disconnects once it has this message; the process then exits (below).
      send({ type: 'closed', warnings, reads });
      return;
  }
}

process.on('message', (message: ToPeer) => {
  handle(message).catch((error) =>
    send({ type: 'error', ...('id' in message ? { id: message.id } : {}), message: describe(error) }),
  );
});
process.on('disconnect', () => {
  // The parent went away (or is done): leave without waiting for timers.
  setTimeout(() => process.exit(0), 100).unref();
});
