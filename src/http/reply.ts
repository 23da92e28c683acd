import {
  DatabaseUnavailableError,
  InvalidCredentialsError,
  NotAuthenticatedError,
  RequestError,
  RevocableError,
  ThrottledError,
  ValidationError,
} from '../errors.ts';
import { isDatabaseUnavailable } from '../store/unavailable.ts';
import { InvalidAccessTokenError } from './authenticate.ts';

/** A framework-neutral HTTP answer. `body` undefined means an empty body. */
export interface HttpReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** A body that is not JSON (the metrics), sent as is: `headers` give its content type. */
  text?: string;
  /** The error behind a 5xx answer, for the log (never sent). */
  cause?: unknown;
  /** A response that stays open (Server-Sent Events): the adapter writes its chunks until either side ends. */
  stream?: EventStream;
}

/** An open response's source of chunks. */
export interface EventStream {
  /** Starts writing; chunks produced before are written first. */
  attach(write: (chunk: string) => void): void;
  /** The client went away, or the server is closing: stop producing. */
  close(): void;
}

/** Every 401 names the scheme and realm, as Simple JWT's views do. */
export const WWW_AUTHENTICATE = 'Bearer realm="api"';

/** Turns any error into the JSON reply of the contract. Unknown errors become a 500 that leaks nothing. */
export function errorReply(error: unknown, authHeaderType = 'Bearer'): HttpReply {
  const reply = toReply(error);
  if (reply.status >= 500) reply.cause = error;
  if (reply.status === 401) {
    reply.headers = { ...reply.headers, 'www-authenticate': `${authHeaderType} realm="api"` };
  }
  return reply;
}

function toReply(error: unknown): HttpReply {
  if (error instanceof ValidationError) return { status: 400, body: error.fields };
  if (error instanceof RequestError) return { status: error.status, body: error.body, headers: error.headers };
  if (error instanceof InvalidAccessTokenError) return { status: 401, body: error.body };
  // DRF answers these two without a `code` key.
  if (error instanceof InvalidCredentialsError || error instanceof NotAuthenticatedError) {
    return { status: 401, body: { detail: error.detail } };
  }
  if (error instanceof ThrottledError) {
    return {
      status: 429,
      body: { detail: error.detail, code: error.code },
      headers: { 'retry-after': String(error.retryAfterSeconds) },
    };
  }
  if (error instanceof RevocableError) {
    return { status: error.status, body: { detail: error.detail, code: error.code } };
  }
  if (isDatabaseUnavailable(error)) return toReply(new DatabaseUnavailableError());
  return { status: 500, body: { detail: 'A server error occurred.', code: 'server_error' } };
}
