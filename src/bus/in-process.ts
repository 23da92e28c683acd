import { EventEmitter } from 'node:events';
import type { RevocationEntry } from '../store/records.ts';
import type { RevocationBus } from './bus.ts';

const channels = new Map<string, EventEmitter>();

/**
 * A bus between the instances of one process (tests, or several Auth objects on one store). Instances
 * created with the same channel name hear each other.
 */
export function inProcessBus(channel = 'default'): RevocationBus {
  let emitter = channels.get(channel);
  if (!emitter) {
    emitter = new EventEmitter();
    emitter.setMaxListeners(0);
    channels.set(channel, emitter);
  }
  const shared = emitter;
  let listener: ((entries: RevocationEntry[]) => void) | undefined;
  return {
    async publish(entries) {
      // A copy per delivery, as a network bus would give.
      shared.emit('entries', structuredClone(entries));
    },
    async start(onEntries) {
      listener = onEntries;
      shared.on('entries', onEntries);
    },
    async close() {
      if (listener) shared.off('entries', listener);
      listener = undefined;
    },
  };
}
