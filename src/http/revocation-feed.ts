import type { Auth } from '../auth.ts';
import type { RevocationEntry } from '../store/records.ts';
import type { EventStream } from './reply.ts';

/** A reader that stopped reading is cut off past this much unsent data; it resumes from its cursor. */
export const FEED_MAX_BUFFERED_BYTES = 1024 * 1024;

/** The cursor a reader resumes from: the `Last-Event-ID` its EventSource sends back, a sequence number. */
export function feedCursor(lastEventId: string | undefined): number | undefined {
  return lastEventId !== undefined && /^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : undefined;
}

/**
 * `GET /api/revocations/stream` (Server-Sent Events): the live revocation entries after the cursor
 * (`revocations` events whose `id` is the highest sequence number sent so far), then `ready`, then every
 * revocation this instance applies, as it applies it, with a `heartbeat` at least every `heartbeatMs`.
 * A heartbeat says whether this instance's own revocation state is stale, so a reader fails closed with it.
 */
export async function openRevocationFeed(auth: Auth, cursor: number | undefined, heartbeatMs: number): Promise<EventStream> {
  let write: ((chunk: string) => void) | undefined;
  const pending: string[] = [];
  const emit = (chunk: string) => (write ? write(chunk) : pending.push(chunk));
  let highest = cursor ?? 0;
  const send = (entries: RevocationEntry[]) => {
    for (const entry of entries) highest = Math.max(highest, entry.seq);
    emit(`id: ${highest}\nevent: revocations\ndata: ${JSON.stringify(entries)}\n\n`);
  };
  const status = () => JSON.stringify({ stale: auth.isRevocationStateStale() });
  emit('retry: 1000\n\n');
  const stop = await auth.watchRevocations(cursor, send);
  emit(`id: ${highest}\nevent: ready\ndata: ${status()}\n\n`);
  const heartbeat = setInterval(() => emit(`event: heartbeat\ndata: ${status()}\n\n`), heartbeatMs);
  heartbeat.unref();
  return {
    attach(writer) {
      write = writer;
      for (const chunk of pending.splice(0)) writer(chunk);
    },
    close() {
      clearInterval(heartbeat);
      stop();
    },
  };
}
