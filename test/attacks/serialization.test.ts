/**
 * RFC 7515 §3.1 / §7.1 and RFC 4648 §3.5 / §5: a token is exactly three base64url segments, without
 * padding, whitespace or any other character, each segment canonical. Every variant here starts from a
 * token the server minted; where the variant changes the signing input, it is signed again with the
 * server's real key over exactly the bytes sent, so the encoding is the only fault. Whitespace inside a
 * token sent as `Bearer <token>` splits the header into more than two values (the contract's
 * `bad_authorization_header`); characters no header can carry are tested on the routes that read a body.
 */
import { describe } from 'vitest';
import { type Json, b64u, signSegments } from './support.ts';
import { type ForgeContext, STANDARD_LABS, type Target, attack, fitsInHeader, useLabs } from './targets.ts';

const BAD_HEADER = {
  body: { detail: 'Authorization header must contain two space-delimited values', code: 'bad_authorization_header' },
};
const segmentsOf = (token: string) => token.split('.') as [string, string, string];
const standard = (segment: string) => Buffer.from(segment, 'base64url').toString('base64');
const headerSplits = (token: string) => (t: Target) => t.inHeader && /[ \t]/.test(token);

/** The real claims with a filler claim whose base64url holds both "-" and "_", so the standard alphabet differs. */
function withUrlOnlyCharacters(payload: Json): Json {
  for (let n = 1; ; n++) {
    const candidate = { ...payload, pad: '?>'.repeat(n) };
    const encoded = b64u(JSON.stringify(candidate));
    if (encoded.includes('-') && encoded.includes('_')) return candidate;
  }
}

/** Re-signs header and payload segments as given (possibly malformed) with the server's real key. */
const signedOver = (header: (h: string) => string, payload: (p: string) => string) => ({ lab, base }: ForgeContext) => {
  const [h, p] = segmentsOf(base.token);
  return signSegments(header(h), payload(p), lab.realm.signer);
};

/** The same signature bytes written with other bits in the last character's unused low bits. */
function nonCanonical(signature: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const unusedBits = (signature.length * 6) % 8;
  const last = alphabet.indexOf(signature.slice(-1));
  if (unusedBits === 0) throw new Error('a signature with no unused bits');
  return `${signature.slice(0, -1)}${alphabet[last ^ 1]}`;
}

interface Variant {
  title: string;
  forge(context: ForgeContext): string;
}

const VARIANTS: Variant[] = [
  // Segment counts.
  { title: 'one segment (the header)', forge: ({ base }) => segmentsOf(base.token)[0] },
  { title: 'one segment (the three without dots)', forge: ({ base }) => base.token.replaceAll('.', '') },
  { title: 'two segments (header.payload)', forge: ({ base }) => segmentsOf(base.token).slice(0, 2).join('.') },
  { title: 'two segments (payload.signature)', forge: ({ base }) => segmentsOf(base.token).slice(1).join('.') },
  { title: 'four segments (the signature twice)', forge: ({ base }) => `${base.token}.${segmentsOf(base.token)[2]}` },
  { title: 'four segments (a trailing dot)', forge: ({ base }) => `${base.token}.` },
  { title: 'four segments (a leading dot)', forge: ({ base }) => `.${base.token}` },
  { title: 'six segments (the token twice)', forge: ({ base }) => `${base.token}.${base.token}` },
  // Empty segments.
  { title: 'an empty header segment', forge: ({ base }) => `.${segmentsOf(base.token).slice(1).join('.')}` },
  { title: 'an empty payload segment', forge: ({ base }) => `${segmentsOf(base.token)[0]}..${segmentsOf(base.token)[2]}` },
  { title: 'an empty payload segment, signed', forge: signedOver((h) => h, () => '') },
  { title: 'an empty signature segment', forge: ({ base }) => `${segmentsOf(base.token).slice(0, 2).join('.')}.` },
  { title: 'only dots (..)', forge: () => '..' },
  { title: 'only dots (....)', forge: () => '....' },
  // Characters outside base64url.
  ...['!', '*', '$', '~', '%2E', '"', '\\'].flatMap((c): Variant[] => [
    { title: `${JSON.stringify(c)} in the header, signed`, forge: signedOver((h) => `${h.slice(0, 4)}${c}${h.slice(4)}`, (p) => p) },
    { title: `${JSON.stringify(c)} in the payload, signed`, forge: signedOver((h) => h, (p) => `${p.slice(0, 4)}${c}${p.slice(4)}`) },
    { title: `${JSON.stringify(c)} appended to the signature`, forge: ({ base }) => `${base.token}${c}` },
  ]),
  // Padding.
  { title: '"=" padding on the header, signed', forge: signedOver((h) => `${h}=`, (p) => p) },
  { title: '"==" padding on the payload, signed', forge: signedOver((h) => h, (p) => `${p}==`) },
  { title: '"=" padding on the signature', forge: ({ base }) => `${base.token}=` },
  {
    title: 'the signature padded to a multiple of four with "="',
    forge: ({ base }) => `${base.token}${'='.repeat((4 - (segmentsOf(base.token)[2].length % 4)) % 4 || 4)}`,
  },
  // The standard alphabet (+ and /) instead of base64url.
  {
    title: 'header and payload in standard base64 (+ /), signed over exactly those',
    forge: ({ lab, base }) => {
      const header = standard(segmentsOf(base.token)[0]).replace(/=+$/, '');
      const payload = standard(b64u(JSON.stringify(withUrlOnlyCharacters(base.payload)))).replace(/=+$/, '');
      return signSegments(header, payload, lab.realm.signer);
    },
  },
  {
    title: 'the real signature in standard base64 with padding',
    forge: ({ base }) => {
      const [h, p, s] = segmentsOf(base.token);
      return `${h}.${p}.${standard(s)}`;
    },
  },
  {
    title: 'the real signature with "-" and "_" swapped for "+" and "/"',
    forge: ({ lab, base }) => {
      // Signed again until the signature holds "-" or "_" (HMAC and Ed25519 are deterministic: vary a claim).
      for (let n = 0; ; n++) {
        const token = lab.realm.resign(base, { pad: 'x'.repeat(n) });
        const [h, p, s] = segmentsOf(token);
        if (/[-_]/.test(s)) return `${h}.${p}.${s.replaceAll('-', '+').replaceAll('_', '/')}`;
      }
    },
  },
  // RFC 4648 §3.5: the same signature bytes, another string (the last character's unused bits set).
  {
    title: 'the real signature with non-zero unused bits, the same bytes in another string (RFC 4648 §3.5)',
    forge: ({ base }) => {
      const [h, p, s] = segmentsOf(base.token);
      return `${h}.${p}.${nonCanonical(s)}`;
    },
  },
  // Not JSON objects, over a real signature.
  ...[
    ['the header a JSON array', '["HS256"]', null],
    ['the header a JSON string', '"HS256"', null],
    ['the header JSON null', 'null', null],
    ['the header not JSON', 'alg=HS256', null],
    ['the payload a JSON array', null, '[]'],
    ['the payload a JSON string', null, '"claims"'],
    ['the payload a JSON number', null, '1'],
    ['the payload JSON null', null, 'null'],
    ['the payload JSON true', null, 'true'],
    ['the payload not JSON', null, 'user_id=1'],
    ['the payload JSON with trailing garbage', null, '{"token_type":"access"}x'],
  ].map(
    ([title, header, payload]): Variant => ({
      title: `${title}, signed`,
      forge: signedOver((h) => (header ? b64u(header) : h), (p) => (payload ? b64u(payload) : p)),
    }),
  ),
];

/** Whitespace inside a segment, signed over exactly what is sent where it is in the header or payload. */
const WHITESPACE: readonly [string, string][] = [
  ['a space', ' '],
  ['a tab', '\t'],
  ['a newline', '\n'],
  ['a carriage return', '\r'],
  ['a no-break space (U+00A0)', '\u00a0'],
  ['a zero-width space (U+200B)', '\u200b'],
];

describe('RFC 7515 §7.1: the compact serialization, exactly', () => {
  const labs = useLabs(STANDARD_LABS);
  for (const variant of VARIANTS) attack(labs, `RFC 7515 §7.1: ${variant.title}`, variant.forge);

  for (const [name, c] of WHITESPACE) {
    const places: [string, (context: ForgeContext) => string][] = [
      ['in the header, signed', signedOver((h) => `${h.slice(0, 5)}${c}${h.slice(5)}`, (p) => p)],
      ['in the payload, signed', signedOver((h) => h, (p) => `${p.slice(0, 5)}${c}${p.slice(5)}`)],
      ['in the signature', ({ base }) => `${base.token.slice(0, -5)}${c}${base.token.slice(-5)}`],
      ['around a dot', ({ base }) => base.token.replace('.', `${c}.${c}`)],
    ];
    for (const [where, forge] of places) {
      const title = `RFC 7515 §7.1: ${name} ${where}`;
      const sample = `a${c}b`;
      if (!fitsInHeader(sample)) {
        attack(labs, title, forge, { only: (t) => !t.inHeader });
      } else if (/[ \t]/.test(c)) {
        attack(labs, title, forge, { only: (t) => !headerSplits(sample)(t) });
        attack(labs, `${title} (the Authorization header then holds three values)`, forge, {
          only: headerSplits(sample),
          refusal: BAD_HEADER,
        });
      } else {
        attack(labs, title, forge);
      }
    }
  }
});
