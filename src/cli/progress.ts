/** The part of a terminal stream a progress bar uses (process.stderr, or a fake in tests). */
export interface ProgressStream {
  write(text: string): unknown;
  columns?: number;
}

export interface ProgressBar {
  /** Shows `done` of `total` (redrawn at most every `intervalMs`, and always when done reaches total). */
  update(done: number, total: number): void;
  /** Erases the bar, leaving the line empty for what is printed next. Idempotent. */
  finish(): void;
}

const WIDTH = 30;

/** `[##########..........]  50%  500,000 / 1,000,000 rows  3.2 s`: one line, rewritten in place. */
export function renderProgress(label: string, done: number, total: number, elapsedMs: number): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * WIDTH);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const rows = `${done.toLocaleString('en-US')} / ${Math.max(total, done).toLocaleString('en-US')} rows`;
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${percent}  ${rows}  ${(elapsedMs / 1000).toFixed(1)} s`;
}

/**
 * A one-line progress bar for a terminal, written to `stream` (stderr, so stdout keeps only the
 * result). No dependency: a carriage return and the erase-line sequence.
 */
export function progressBar(
  stream: ProgressStream,
  label: string,
  options: { intervalMs?: number; now?: () => number } = {},
): ProgressBar {
  const intervalMs = options.intervalMs ?? 100;
  const now = options.now ?? (() => performance.now());
  const started = now();
  let lastDrawn = Number.NEGATIVE_INFINITY;
  let shown = false;
  let finished = false;
  return {
    update(done, total) {
      if (finished) return;
      const at = now();
      if (at - lastDrawn < intervalMs && done < total) return;
      lastDrawn = at;
      let line = renderProgress(label, done, total, at - started);
      const columns = stream.columns ?? 0;
      if (columns > 1 && line.length >= columns) line = line.slice(0, columns - 1);
      stream.write(`\r\x1b[2K${line}`);
      shown = true;
    },
    finish() {
      if (finished) return;
      finished = true;
      if (shown) stream.write('\r\x1b[2K');
    },
  };
}
