import { decodeEntries } from '../bus/bus.ts';
import type { RevocationEntry } from '../store/records.ts';

export interface FeedClientOptions {
  /** The auth server's `…/api/revocations/stream/`. */
  url: string;
  clientId: string;
  clientSecret: string;
  onEntries(entries: RevocationEntry[]): void;
  /** Past this without a word from the feed (heartbeats come five times as often), the state is stale. */
  maxStalenessMs: number;
  logger: Pick<Console, 'error' | 'warn'>;
}

export interface FeedClient {
  /** Resolves once the backlog has arrived (the first `ready` event); rejects after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void>;
  /**
   * True when the feed has been silent past the bound (a dropped connection included: within the bound
   * it reconnects and resumes, as the store's poll may fail once), or the server says it is stale.
   */
  isStale(): boolean;
  close(): void;
}

/** A field of one Server-Sent Event (WHATWG HTML §9.2.6), as far as this feed uses them. */
interface FeedEvent {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * Reads the auth server's revocation feed and keeps reading it: reconnects after any failure with the
 * last event id, so nothing committed in between is missed, and tears down a connection that went silent.
 */
export function createFeedClient(options: FeedClientOptions): FeedClient {
  const authorization = `Basic ${Buffer.from(`${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`).toString('base64')}`;
  let cursor: string | undefined;
  let lastHeardAt = Number.NEGATIVE_INFINITY;
  let connected = false;
  let serverStale = false;
  let closed = false;
  let connection: AbortController | undefined;
  /** Why the last attempt failed, for the start-up error. */
  let lastFailure = '';
  let markReady: () => void = () => {};
  const readyOnce = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const onEvent = (event: FeedEvent) => {
    lastHeardAt = performance.now();
    if (event.id !== undefined) cursor = event.id;
    if (event.event === 'revocations') {
      options.onEntries(decodeEntries(event.data));
    } else if (event.event === 'ready' || event.event === 'heartbeat') {
      serverStale = readStale(event.data);
      if (event.event === 'ready') {
        connected = true;
        markReady();
      }
    }
  };

  const readOnce = async () => {
    connection = new AbortController();
    const response = await fetch(options.url, {
      headers: { authorization, accept: 'text/event-stream', ...(cursor !== undefined ? { 'last-event-id': cursor } : {}) },
      signal: connection.signal,
    });
    if (response.status !== 200 || !response.body) {
      await response.body?.cancel();
      throw new Error(`GET ${options.url} answered ${response.status}`);
    }
    const parser = createEventParser(onEvent);
    const decoder = new TextDecoder();
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) parser(decoder.decode(chunk, { stream: true }));
  };

  const run = async () => {
    let failures = 0;
    while (!closed) {
      try {
        await readOnce();
        failures = 0;
      } catch (error) {
        if (closed) return;
        lastFailure = (error as Error).message;
        if (failures++ === 0) options.logger.warn(`revocable: the revocation feed failed: ${(error as Error).message}`);
      }
      connected = false;
      if (closed) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** Math.min(failures, 4), 4000)));
    }
  };
  void run();

  // A connection that stays open but silent (a dead peer behind a proxy) is torn down and reopened.
  const watchdog = setInterval(() => {
    if (connected && performance.now() - lastHeardAt > options.maxStalenessMs) connection?.abort();
  }, Math.max(100, options.maxStalenessMs / 4));
  watchdog.unref();

  return {
    ready(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `the revocation feed at ${options.url} was not ready within ${timeoutMs} ms${lastFailure ? ` (last attempt: ${lastFailure})` : ''}`,
              ),
            ),
          timeoutMs,
        );
      });
      return Promise.race([readyOnce, timeout]).finally(() => clearTimeout(timer));
    },
    isStale() {
      return serverStale || performance.now() - lastHeardAt > options.maxStalenessMs;
    },
    close() {
      closed = true;
      clearInterval(watchdog);
      connection?.abort();
    },
  };
}

function readStale(data: string): boolean {
  try {
    return (JSON.parse(data) as { stale?: unknown })?.stale === true;
  } catch {
    return false;
  }
}

/** Splits a text/event-stream into events: `field: value` lines, dispatched at each blank line. */
function createEventParser(onEvent: (event: FeedEvent) => void): (text: string) => void {
  let buffer = '';
  let event = 'message';
  let data: string[] = [];
  let id: string | undefined;
  return (text) => {
    buffer += text;
    let newline = buffer.search(/\r\n|\r|\n/);
    // A chunk ending in CR may be the first half of CRLF: wait for the next one.
    while (newline !== -1 && !(newline === buffer.length - 1 && buffer[newline] === '\r')) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(buffer.startsWith('\r\n', newline) ? newline + 2 : newline + 1);
      if (line === '') {
        if (data.length) onEvent({ event, data: data.join('\n'), id });
        event = 'message';
        data = [];
        id = undefined;
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id') id = value;
      }
      newline = buffer.search(/\r\n|\r|\n/);
    }
  };
}
