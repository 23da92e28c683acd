import { randomUUID } from 'node:crypto';

/** A token id as Simple JWT makes it (`uuid4().hex`): 32 lowercase hex digits. */
export function newJti(): string {
  return randomUUID().replaceAll('-', '');
}

/** A session id; the same shape as a jti, from an independent draw. */
export function newSessionId(): string {
  return randomUUID().replaceAll('-', '');
}
