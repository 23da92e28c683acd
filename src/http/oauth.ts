import type { Auth } from '../auth.ts';
import { identifyActor } from '../audit/actor.ts';
import type { HttpReply } from './reply.ts';

/**
 * RFC 6749 §5.2 error bodies, the format RFC 7662 §2.3 and RFC 7009 §2.2.1 answer errors in. The
 * description must stay within the characters §5.2 allows (%x20-21 / %x23-5B / %x5D-7E: no `"`, no `\`).
 */
export function oauthError(status: number, error: string, description: string, headers: Record<string, string> = {}): HttpReply {
  return { status, body: { error, error_description: description }, headers: { 'cache-control': 'no-store', ...headers } };
}

/** Introspection answers describe live credentials: no cache keeps them (as RFC 6749 §5.1 asks of token answers). */
export function noStore(reply: HttpReply): HttpReply {
  return { ...reply, headers: { ...reply.headers, 'cache-control': 'no-store' } };
}

/**
 * A single string parameter of an OAuth request body, or undefined. A parameter sent without a value
 * counts as omitted (RFC 6749 §3.1, which RFC 7009 §2 applies to the revocation endpoint).
 */
export function oauthParameter(data: unknown, name: string): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const value = (data as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The parameters these endpoints read (RFC 7662 §2.1, RFC 7009 §2.1, RFC 6749 §2.3.1); any other is ignored. */
const PARAMETERS = ['token', 'token_type_hint', 'client_id', 'client_secret'] as const;

/** The invalid_client answer; its challenge names the scheme clients authenticate with (RFC 6749 §5.2). */
const clientRefused = () =>
  oauthError(401, 'invalid_client', 'Client authentication failed.', { 'www-authenticate': 'Basic realm="oauth"' });

/**
 * Client authentication (RFC 6749 §2.3.1): HTTP Basic (`client_secret_basic`) or `client_id` and
 * `client_secret` in the body (`client_secret_post`), never both (§2.3: one method per request; §5.2:
 * 400 `invalid_request`). An `Authorization: Basic` header is the client's only credentials: malformed
 * or wrong, it is a 401. Undefined when the client is authenticated, else the answer to give.
 */
export async function authenticateClient(
  auth: Auth,
  headers: Record<string, string | string[] | undefined>,
  data: unknown,
): Promise<HttpReply | undefined> {
  const header = Array.isArray(headers.authorization) ? headers.authorization[0] : headers.authorization;
  let clientId: string | undefined;
  let clientSecret: string | undefined;
  if (header !== undefined && /^Basic(\s|$)/i.test(header)) {
    if (oauthParameter(data, 'client_secret') !== undefined) {
      return oauthError(400, 'invalid_request', 'The client used more than one authentication method.');
    }
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    const decoded = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8') : '';
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
    identifyActor(`client:${clientId}`);
    return undefined;
  }
  return clientRefused();
}

/** Basic credentials are form-urlencoded (RFC 6749 §2.3.1); a malformed escape reads as no credentials. */
function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** What the endpoints read of a request: its headers, and the raw body (for repeated parameters). */
export interface OAuthRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody?: Buffer | undefined;
}

/**
 * The parameters of a request. A form-encoded body (the RFCs' format) is read again from its raw bytes,
 * because the parsed body keeps only the last of repeated keys: a parameter given a value more than once
 * is refused (RFC 6749 §3.1 forbids repeats), and one sent without a value counts as omitted, even next
 * to a repeat of it with a value. Other media types (JSON, multipart) are read as parsed.
 */
function readParameters(request: OAuthRequest, data: unknown): { parameters: Record<string, string> } | { repeated: string } {
  const header = request.headers['content-type'];
  const mediaType = ((Array.isArray(header) ? header[0] : header) ?? '').split(';')[0]!.trim().toLowerCase();
  const parameters: Record<string, string> = {};
  if (mediaType === 'application/x-www-form-urlencoded' && request.rawBody) {
    const form = new URLSearchParams(request.rawBody.toString('utf8'));
    for (const name of PARAMETERS) {
      const values = form.getAll(name).filter((value) => value !== '');
      if (values.length > 1) return { repeated: name };
      if (values.length === 1) parameters[name] = values[0]!;
    }
    return { parameters };
  }
  for (const name of PARAMETERS) {
    const value = oauthParameter(data, name);
    if (value !== undefined) parameters[name] = value;
  }
  return { parameters };
}

/**
 * The common start of introspection and revocation: a request without repeated parameters (400
 * `invalid_request`), an authenticated client (401 `invalid_client`) and a `token` parameter (400
 * `invalid_request`). Answers the token, or the error reply. Nothing here looks at the token before the
 * client is authenticated (RFC 7662 §2.1, RFC 7009 §2.1).
 */
export async function oauthTokenRequest(auth: Auth, request: OAuthRequest, data: unknown): Promise<{ token: string } | HttpReply> {
  const read = readParameters(request, data);
  if ('repeated' in read) return oauthError(400, 'invalid_request', `The ${read.repeated} parameter is repeated.`);
  const { parameters } = read;
  const refused = await authenticateClient(auth, request.headers, parameters);
  if (refused) return refused;
  const token = parameters.token;
  if (token === undefined) return oauthError(400, 'invalid_request', 'The token parameter is required.');
  return { token };
}
