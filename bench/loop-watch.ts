import { performance } from 'node:perf_hooks';

/**
 * Watches the event loop with a chain of `setImmediate` ticks and returns, when stopped, the longest
 * time it went without a turn (ms): how long every other request of the process had to wait.
 * (`monitorEventLoopDelay` misses a stall that ends before its timer's first tick.)
 */
export function watchEventLoop(): { stop(): Promise<number> } {
  let last = performance.now();
  let longest = 0;
  let running = true;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    async stop() {
      running = false;
      await new Promise<void>((resolve) => setImmediate(resolve));
      return Math.max(longest, performance.now() - last);
    },
  };
}
