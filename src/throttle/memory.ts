import { type Clock, systemClock } from '../clock.ts';
import type { ThrottleCounter, ThrottleStore } from './throttle.ts';

interface Window {
  count: number;
  endsAtMs: number;
}

/**
 * Login throttle counters in this process's memory, on `clock` (inject one to test windows without
 * waiting). Counters of one window length are kept in the order their windows started, which is the
 * order they end: expired ones are dropped from the front, so memory follows the live counters only.
 */
export function memoryThrottleStore(options: { clock?: Clock } = {}): ThrottleStore {
  const clock = options.clock ?? systemClock;
  const byWindowLength = new Map<number, Map<string, Window>>();

  const windowsOf = (windowMs: number) => {
    let windows = byWindowLength.get(windowMs);
    if (!windows) {
      windows = new Map();
      byWindowLength.set(windowMs, windows);
    }
    return windows;
  };
  const prune = (nowMs: number) => {
    for (const windows of byWindowLength.values()) {
      for (const [key, window] of windows) {
        if (window.endsAtMs > nowMs) break;
        windows.delete(key);
      }
    }
  };
  const live = (counter: ThrottleCounter, nowMs: number): Window | undefined => {
    const windows = windowsOf(counter.windowMs);
    const window = windows.get(counter.key);
    if (window && window.endsAtMs <= nowMs) {
      windows.delete(counter.key);
      return undefined;
    }
    return window;
  };

  return {
    async acquire(counters) {
      const nowMs = clock();
      prune(nowMs);
      let waitMs = 0;
      for (const counter of counters) {
        const window = live(counter, nowMs);
        if (window && window.count >= counter.limit) waitMs = Math.max(waitMs, window.endsAtMs - nowMs, 1);
      }
      if (waitMs > 0) return waitMs;
      for (const counter of counters) {
        const window = live(counter, nowMs);
        if (window) window.count += 1;
        else windowsOf(counter.windowMs).set(counter.key, { count: 1, endsAtMs: nowMs + counter.windowMs });
      }
      return undefined;
    },
    async release(counters) {
      const nowMs = clock();
      for (const counter of counters) {
        const window = live(counter, nowMs);
        if (!window) continue;
        window.count -= 1;
        if (window.count <= 0) windowsOf(counter.windowMs).delete(counter.key);
      }
    },
    async reset(counters) {
      for (const counter of counters) windowsOf(counter.windowMs).delete(counter.key);
    },
    async close() {
      byWindowLength.clear();
    },
  };
}
