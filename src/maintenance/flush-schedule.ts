/**
 * Runs the expired-row cleanup every `intervalMs` inside the process (the setting `flushExpiredInterval`):
 * a chain of unref'd timeouts, the next armed only once a run has finished, so runs never overlap and a
 * slow one pushes the next back rather than piling up. The first run comes one interval after start.
 */
export interface FlushSchedule {
  /** Disarms the timer and waits for a run in progress (which the caller has told to stop) to end. */
  stop(): Promise<void>;
}

export function scheduleFlush(options: {
  intervalMs: number;
  run: () => Promise<unknown>;
  logger: Pick<Console, 'error'>;
}): FlushSchedule {
  const { intervalMs, run, logger } = options;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;

  const arm = () => {
    if (stopped) return;
    timer = setTimeout(tick, intervalMs);
    timer.unref();
  };
  const tick = () => {
    timer = undefined;
    running = run()
      .then(
        () => {},
        (error) => logger.error('revocable: the scheduled flush of expired rows failed', error),
      )
      .finally(() => {
        running = undefined;
        arm();
      });
  };
  arm();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
