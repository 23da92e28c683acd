import { AsyncLocalStorage } from 'node:async_hooks';

/** Who is acting, for the audit trail: set once per request (or CLI command), read where events fire. */
export interface Actor {
  /** `user:<id>`, `client:<id>`, `staff:<username>`, `cli:<os user>`, `anonymous`. */
  actor: string;
  ip?: string | undefined;
}

const current = new AsyncLocalStorage<Actor>();

/** Runs `fn` with `actor` as the one every audit line written meanwhile names. */
export function runAs<T>(actor: Actor, fn: () => T): T {
  return current.run(actor, fn);
}

/** The acting party now; `library` for a call made outside any request or command. */
export function currentActor(): Actor {
  return current.getStore() ?? { actor: 'library' };
}

/** Names the authenticated caller for the rest of the request (called once it is known). */
export function identifyActor(actor: string): void {
  const store = current.getStore();
  if (store) store.actor = actor;
}
