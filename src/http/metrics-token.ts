import { createHash, timingSafeEqual } from 'node:crypto';

const HEADER_WHITESPACE = /[ \t\n\r\v\f]+/;
const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Whether an `Authorization` header is `Bearer <token>` with the metrics token (`REVOCABLE_METRICS_TOKEN`),
 * compared in constant time.
 */
export function metricsTokenMatches(header: string | string[] | undefined, token: string): boolean {
  const value = Array.isArray(header) ? header[0] : header;
  const parts = (value ?? '').split(HEADER_WHITESPACE).filter((part) => part !== '');
  if (parts.length !== 2 || parts[0] !== 'Bearer') return false;
  return timingSafeEqual(digest(parts[1]!), digest(token));
}
