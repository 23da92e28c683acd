import type { RevocationEntry } from '../store/records.ts';

/**
 * Carries committed revocations to the other instances within milliseconds. Best effort by design:
 * each instance also reads the ordered revocation log on start, on reconnect and on a timer, so a
 * message the bus drops delays a revocation by at most the poll interval and never loses it.
 */
export interface RevocationBus {
  /** Sends entries that were just committed. Never throws: a failure is the poll's to cover. */
  publish(entries: RevocationEntry[]): Promise<void>;
  /**
   * Starts delivering entries published by any instance (this one's included: applying is idempotent).
   * `onReconnect` runs after the bus comes back from a disconnection, when messages may have been missed.
   */
  start(onEntries: (entries: RevocationEntry[]) => void, onReconnect: () => void): Promise<void>;
  close(): Promise<void>;
}

/** Entries travel as JSON arrays; anything else on the channel is ignored. */
export function decodeEntries(message: string): RevocationEntry[] {
  try {
    const parsed: unknown = JSON.parse(message);
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (entry): entry is RevocationEntry =>
        typeof entry === 'object' &&
        entry !== null &&
        (entry.kind === 'token' || entry.kind === 'session' || entry.kind === 'user') &&
        typeof entry.subject === 'string' &&
        typeof entry.seq === 'number' &&
        typeof entry.atMs === 'number' &&
        typeof entry.expiresAtMs === 'number' &&
        (entry.kind !== 'user' || typeof entry.generation === 'number'),
    );
  } catch {
    return [];
  }
}

/** Splits entries into JSON messages of at most `maxBytes` (PostgreSQL NOTIFY payloads stop at 8000). */
export function encodeEntries(entries: RevocationEntry[], maxBytes = 7000): string[] {
  const messages: string[] = [];
  let batch: RevocationEntry[] = [];
  for (const entry of entries) {
    batch.push(entry);
    if (Buffer.byteLength(JSON.stringify(batch)) > maxBytes && batch.length > 1) {
      batch.pop();
      messages.push(JSON.stringify(batch));
      batch = [entry];
    }
  }
  if (batch.length) messages.push(JSON.stringify(batch));
  return messages;
}
