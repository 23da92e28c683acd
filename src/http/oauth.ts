import type { Auth } from '../auth.ts';
import type { HttpReply } from './reply.ts';

/** RFC 6749 §5.2 error bodies, the format RFC 7662 and RFC 7009 answer errors in. */
export function oauthError(status: number, error: string, description: string, headers: Record<string, string> = {}): HttpReply {
  return { status, body: { error, error_description: description }, headers: { 'cache-control': 'no-store', ...headers } };
}

/** RFC 7662 §2.2: introspection answers must not be cached. */
export function noStore(reply: HttpReply): HttpReply {
  return { ...reply, headers: { ...reply.headers, 'cache-control': 'no-store' } };
}

/** A single string parameter of an OAuth request body, or undefined. */
export function oauthParameter(data: unknown, name: string): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const value = (data as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Client authentication (RFC 6749 §2.3.1): HTTP Basic (`client_secret_basic`) or `client_id` and
 * `client_secret` in the body (`client_secret_post`). Undefined when the client is authenticated,
 * else the 401 `invalid_client` to answer.
 */
export async function authenticateClient(
  auth: Auth,
  headers: Record<string, string | string[] | undefined>,
  data: unknown,
): Promise<HttpReply | undefined> {
  const header = Array.isArray(headers.authorization) ? headers.authorization[0] : headers.authorization;
  let clientId: string | undefined;
  let clientSecret: string | undefined;
  const basic = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      clientId = safeDecode(decoded.slice(0, colon));
      clientSecret = safeDecode(decoded.slice(colon + 1));
    }
  } else {
    clientId = oauthParameter(data, 'client_id');
    clientSecret = oauthParameter(data, 'client_secret');
  }
  if (clientId !== undefined && clientSecret !== undefined && (await auth.clients.authenticate(clientId, clientSecret))) {
    return undefined;
  }
  return oauthError(401, 'invalid_client', 'Client authentication failed.', { 'www-authenticate': 'Basic realm="oauth"' });
}

/** Basic credentials are form-urlencoded (RFC 6749 §2.3.1); a malformed escape reads as no credentials. */
function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * The common start of introspection and revocation: an authenticated client (401 `invalid_client`)
 * and a `token` parameter (400 `invalid_request`). Answers the token, or the error reply.
 */
export async function oauthTokenRequest(
  auth: Auth,
  request: { headers: Record<string, string | string[] | undefined> },
  data: unknown,
): Promise<{ token: string } | HttpReply> {
  const refused = await authenticateClient(auth, request.headers, data);
  if (refused) return refused;
  const token = oauthParameter(data, 'token');
  if (token === undefined) return oauthError(400, 'invalid_request', 'The "token" parameter is required.');
  return { token };
}
