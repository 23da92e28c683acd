/** Error codes of drivers that mean "the database cannot be reached now", not "the query is wrong". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  // PostgreSQL: admin shutdown, crash shutdown, cannot connect now, connection exceptions.
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  'SQLITE_BUSY',
  'SQLITE_IOERR',
  'SQLITE_CANTOPEN',
  // PostgreSQL: query canceled (statement timeout), read-only (after a failover), serialization
  // failure, deadlock, lock timeout.
  '57014',
  '25006',
  '40001',
  '40P01',
  '55P03',
  // MySQL / MariaDB.
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_SERVER_SHUTDOWN',
  'ER_TOO_MANY_USER_CONNECTIONS',
]);

/** PostgreSQL SQLSTATE classes that mean the server cannot serve now: connection (08), resources (53). */
const UNREACHABLE_CLASSES = ['08', '53'];

const UNREACHABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'connect ECONNREFUSED',
  'Client has encountered a connection error',
  'Connection lost',
  "Can't add new command when connection is in closed state",
  'the revocation log read took longer',
];

/** True when an error says the database is down or unreachable (a 503), not that something is broken (a 500). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && UNREACHABLE_CLASSES.includes(code.slice(0, 2))) return true;
  if (typeof message === 'string' && UNREACHABLE_MESSAGES.some((text) => message.includes(text))) return true;
  // An AggregateError from a dual-stack connect attempt.
  return Array.isArray(errors) && errors.some((inner) => isDatabaseUnavailable(inner));
}
