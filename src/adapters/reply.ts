import { type HttpReply, errorReply } from '../http/reply.ts';
import type { ResourceServer } from '../resource/resource-server.ts';

/** The contract's answer to a refused request, with the resource server's header type in the 401 challenge. */
export function refusal(server: ResourceServer<unknown>, error: unknown): HttpReply & { body: unknown; headers: Record<string, string> } {
  const reply = errorReply(error, server.settings.authHeaderTypes[0]);
  return { ...reply, body: reply.body ?? {}, headers: reply.headers ?? {} };
}
