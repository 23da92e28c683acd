import { RequestError } from '../errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a request body the way DRF's default parsers do (JSON, form-encoded, multipart). An empty
 * body, or one without a content type, reads as `{}`; another media type is 415; JSON that does not
 * parse is 400 `JSON parse error - …`.
 */
export async function parseBody(contentType: string | undefined, raw: Buffer | undefined): Promise<unknown> {
  if (!raw || raw.length === 0 || !contentType) return {};
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (mediaType === 'application/json') return parseJson(raw);
  if (mediaType === 'application/x-www-form-urlencoded') {
    // Like Django's QueryDict, the last of repeated keys wins.
    return Object.fromEntries(new URLSearchParams(decode(raw, 'form')));
  }
  if (mediaType === 'multipart/form-data') return parseMultipart(contentType, raw);
  throw new RequestError(415, 'unsupported_media_type', `Unsupported media type "${contentType}" in request.`);
}

function parseJson(raw: Buffer): unknown {
  const text = decode(raw, 'JSON');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RequestError(400, 'parse_error', `JSON parse error - ${(error as Error).message}`);
  }
}

function decode(raw: Buffer, what: string): string {
  try {
    return utf8.decode(raw);
  } catch {
    const prefix = what === 'JSON' ? 'JSON parse error' : 'Form parse error';
    throw new RequestError(400, 'parse_error', `${prefix} - the body is not valid UTF-8`);
  }
}

async function parseMultipart(contentType: string, raw: Buffer): Promise<Record<string, unknown>> {
  let form: FormData;
  try {
    form = await new Response(new Blob([new Uint8Array(raw)]), { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw new RequestError(400, 'parse_error', 'Multipart form parse error - Invalid boundary in multipart: None');
  }
  const data: Record<string, unknown> = {};
  for (const [name, value] of form) if (typeof value === 'string') data[name] = value;
  return data;
}
