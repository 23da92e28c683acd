const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/;

/**
 * Reads a duration as seconds: a number is seconds, a string is a number with an optional unit
 * (`"90"`, `"30s"`, `"5m"`, `"12h"`, `"1d"`, `"500ms"`). Returns undefined when it cannot be read.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = DURATION.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1);
}
