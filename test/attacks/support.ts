/**
 * The forger of the attack suite: builds every malformed, unsigned, mis-signed or re-signed token the
 * suite presents, with node:crypto alone (never with the library under test, and never by weakening
 * it). A header or payload is given as an object (serialized compactly), as raw JSON text (to write
 * duplicate members) or as raw bytes (to write invalid UTF-8).
 */
import {
  type KeyObject,
  X509Certificate,
  constants,
  createCipheriv,
  createHash,
  createHmac,
  createPublicKey,
  sign as cryptoSign,
  diffieHellman,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';

export type Json = Record<string, unknown>;
/** A JOSE header or a payload: an object, raw JSON text, or raw bytes. */
export type Part = Json | string | Buffer;

/** base64url without padding (RFC 7515 §2), of bytes or of a string's UTF-8. */
export const b64u = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64url');

/** One segment of a compact serialization. */
export function encodePart(part: Part): string {
  if (Buffer.isBuffer(part)) return part.toString('base64url');
  return b64u(typeof part === 'string' ? part : JSON.stringify(part));
}

/** A segment decoded as JSON (for reading the server's own tokens). */
export function decodeSegment(segment: string): Json {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Json;
}

/** The header and payload of a compact JWS, decoded without verifying. */
export function readToken(token: string): { header: Json; payload: Json } {
  const [header = '', payload = ''] = token.split('.');
  return { header: decodeSegment(header), payload: decodeSegment(payload) };
}

/** What signs: an algorithm of RFC 7518 §3 and an HMAC secret or a private key. */
export interface Signer {
  alg: string;
  key: KeyObject | Buffer | string;
}

/** The JWS signature (RFC 7518 §3) of a signing input, with node:crypto. */
export function signatureOf(input: string, signer: Signer): Buffer {
  const { alg, key } = signer;
  const data = Buffer.from(input, 'utf8');
  const hash = `sha${alg.slice(2)}`;
  switch (alg.slice(0, 2)) {
    case 'HS':
      return createHmac(hash, key as Buffer | string).update(data).digest();
    case 'RS':
      return cryptoSign(hash, data, key as KeyObject);
    case 'PS':
      return cryptoSign(hash, data, {
        key: key as KeyObject,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: Number(alg.slice(2)) / 8,
      });
    case 'ES':
      return cryptoSign(hash, data, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
    case 'Ed':
      return cryptoSign(null, data, key as KeyObject);
    default:
      throw new Error(`the forger cannot sign with ${alg}`);
  }
}

/** A compact JWS of exactly the segments given (they may be malformed), signed over `header.payload` as written. */
export function signSegments(header: string, payload: string, signer: Signer): string {
  const input = `${header}.${payload}`;
  return `${input}.${signatureOf(input, signer).toString('base64url')}`;
}

/** A compact JWS; `'none'` leaves the signature segment empty (RFC 7515 appendix A.5). */
export function jws(header: Part, payload: Part, signer: Signer | 'none'): string {
  if (signer === 'none') return `${encodePart(header)}.${encodePart(payload)}.`;
  return signSegments(encodePart(header), encodePart(payload), signer);
}

/** JSON object text with the members in the order given, repeated names included (RFC 7515 §5.2 / RFC 8259 §4). */
export function jsonWithMembers(members: readonly (readonly [string, unknown])[]): string {
  return `{${members.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`).join(',')}}`;
}

/** The UTF-8 of an object's JSON with one more string member whose value is `raw`, bytes as given (not UTF-8 checked). */
export function jsonBytesWith(object: Json, name: string, raw: Buffer): Buffer {
  const text = JSON.stringify(object);
  const open = text.length > 2 ? `${text.slice(0, -1)},` : '{';
  return Buffer.concat([Buffer.from(`${open}${JSON.stringify(name)}:"`, 'utf8'), raw, Buffer.from('"}', 'utf8')]);
}

// ---------------------------------------------------------------------------------------------------
// The attacker's own keys, and how they are published (jwk, x5c, jku, x5u).

export interface AttackerKey {
  alg: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public key as a JWK, with its RFC 7638 thumbprint as `kid`. */
  jwk: Json;
  /** A self-signed X.509 certificate of the public key (DER), as `x5c` carries it. */
  certificate: Buffer;
}

const attackerKeys = new Map<string, AttackerKey>();

/** A key pair the attacker controls (made once per process): RS256 (RSA 2048), ES256 (P-256) or EdDSA (Ed25519). */
export function attackerKey(alg: 'RS256' | 'PS256' | 'ES256' | 'EdDSA'): AttackerKey {
  const known = attackerKeys.get(alg);
  if (known) return known;
  const pair =
    alg === 'RS256' || alg === 'PS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  const publicJwk = pair.publicKey.export({ format: 'jwk' }) as Json;
  const key: AttackerKey = {
    alg,
    ...pair,
    jwk: { ...publicJwk, kid: jwkThumbprint(publicJwk), alg, use: 'sig' },
    certificate: selfSignedCertificate(pair.privateKey, pair.publicKey),
  };
  attackerKeys.set(alg, key);
  return key;
}

/** RFC 7638 thumbprint of a public JWK. */
export function jwkThumbprint(jwk: Json): string {
  const members: Record<string, string[]> = { RSA: ['e', 'kty', 'n'], EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'] };
  const names = members[String(jwk.kty)] ?? [];
  return createHash('sha256')
    .update(JSON.stringify(Object.fromEntries(names.map((name) => [name, jwk[name]]))))
    .digest('base64url');
}

/** A public JWK as a KeyObject. */
export function jwkPublicKey(jwk: Json): KeyObject {
  return createPublicKey({ key: jwk as never, format: 'jwk' });
}

// A minimal DER writer: enough for one self-signed certificate (RFC 5280 §4.1).
function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
function der(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}
function derOid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const groups: number[] = [];
    for (let value = arc; ; value = Math.floor(value / 128)) {
      groups.unshift(value % 128);
      if (value < 128) break;
    }
    bytes.push(...groups.map((group, index) => (index < groups.length - 1 ? group | 0x80 : group)));
  }
  return der(0x06, Buffer.from(bytes));
}
const derTime = (date: Date) => der(0x17, Buffer.from(`${date.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`, 'ascii'));

/** A self-signed certificate (CN=attacker) of `publicKey`, signed by `privateKey`. */
export function selfSignedCertificate(privateKey: KeyObject, publicKey: KeyObject): Buffer {
  const type = publicKey.asymmetricKeyType;
  const algorithm =
    type === 'rsa'
      ? der(0x30, derOid('1.2.840.113549.1.1.11'), der(0x05)) // sha256WithRSAEncryption
      : type === 'ec'
        ? der(0x30, derOid('1.2.840.10045.4.3.2')) // ecdsa-with-SHA256
        : der(0x30, derOid('1.3.101.112')); // Ed25519
  const name = der(0x30, der(0x31, der(0x30, derOid('2.5.4.3'), der(0x0c, Buffer.from('attacker')))));
  const tbs = der(
    0x30,
    der(0xa0, der(0x02, Buffer.from([2]))), // v3
    der(0x02, Buffer.from([0x01, ...randomBytes(8)])),
    algorithm,
    name,
    der(0x30, derTime(new Date(Date.UTC(2020, 0, 1))), derTime(new Date(Date.UTC(2049, 0, 1)))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = cryptoSign(type === 'ed25519' ? null : 'sha256', tbs, privateKey);
  const certificate = der(0x30, tbs, algorithm, der(0x03, Buffer.from([0]), signature));
  // The forger's own check: node:crypto reads it back as a certificate its key signed.
  if (!new X509Certificate(certificate).verify(publicKey)) throw new Error('the forged certificate does not verify');
  return certificate;
}

// ---------------------------------------------------------------------------------------------------
// The server's public key, as an attacker reads it off /.well-known/jwks.json, turned into HMAC secrets.

/** Every form of a published public key an HS/RS (HS/ES, HS/EdDSA) confusion attack might use as the HMAC secret. */
export function publicKeySecrets(jwk: Json, configuredPem: string): { name: string; secret: Buffer | string }[] {
  const key = jwkPublicKey(jwk);
  const pem = key.export({ type: 'spki', format: 'pem' }) as string;
  const raw = (member: string) => Buffer.from(String(jwk[member]), 'base64url');
  const secrets: { name: string; secret: Buffer | string }[] = [
    { name: 'the configured PEM, verbatim', secret: configuredPem },
    { name: 'the PEM of the published JWK', secret: pem },
    { name: 'that PEM without its final newline', secret: pem.trimEnd() },
    { name: 'the SPKI DER bytes', secret: key.export({ type: 'spki', format: 'der' }) },
    { name: 'the JWK as published (JSON text)', secret: JSON.stringify(jwk) },
  ];
  if (jwk.kty === 'RSA') {
    secrets.push({ name: 'the raw modulus bytes (JWK "n")', secret: raw('n') });
    secrets.push({ name: 'the PKCS #1 DER bytes', secret: key.export({ type: 'pkcs1', format: 'der' }) });
  } else if (jwk.kty === 'EC') {
    secrets.push({ name: 'the raw point x||y (JWK "x","y")', secret: Buffer.concat([raw('x'), raw('y')]) });
    secrets.push({ name: 'the uncompressed point 04||x||y', secret: Buffer.concat([Buffer.from([4]), raw('x'), raw('y')]) });
  } else {
    secrets.push({ name: 'the raw public key bytes (JWK "x")', secret: raw('x') });
  }
  return secrets;
}

// ---------------------------------------------------------------------------------------------------
// JWE (RFC 7516) compact serializations: five segments, really encrypted.

function gcm(key: Buffer, protectedHeader: string, plaintext: Buffer): string[] {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(protectedHeader, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [b64u(iv), b64u(ciphertext), b64u(cipher.getAuthTag())];
}

/** `alg: dir`, `enc: A256GCM`: the plaintext encrypted directly under a 256-bit key. */
export function jweDirect(plaintext: Buffer | string, key: Buffer, header: Json = {}): string {
  const protectedHeader = encodePart({ alg: 'dir', enc: 'A256GCM', ...header });
  return [protectedHeader, '', ...gcm(key, protectedHeader, Buffer.from(plaintext))].join('.');
}

/** `alg: RSA-OAEP-256`, `enc: A256GCM`: a random content key wrapped for an RSA public key. */
export function jweRsaOaep(plaintext: Buffer | string, recipient: KeyObject, header: Json = {}): string {
  const contentKey = randomBytes(32);
  const wrapped = publicEncrypt({ key: recipient, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, contentKey);
  const protectedHeader = encodePart({ alg: 'RSA-OAEP-256', enc: 'A256GCM', ...header });
  return [protectedHeader, b64u(wrapped), ...gcm(contentKey, protectedHeader, Buffer.from(plaintext))].join('.');
}

/** `alg: ECDH-ES`, `enc: A256GCM` (RFC 7518 §4.6): key agreement with an EC public key, Concat KDF. */
export function jweEcdhEs(plaintext: Buffer | string, recipient: KeyObject, header: Json = {}): string {
  const curve = (recipient.export({ format: 'jwk' }) as Json).crv === 'P-384' ? 'P-384' : 'P-256';
  const ephemeral = generateKeyPairSync('ec', { namedCurve: curve });
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient });
  const u32 = (value: number) => {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(value);
    return buffer;
  };
  const enc = Buffer.from('A256GCM');
  const contentKey = createHash('sha256')
    .update(Buffer.concat([u32(1), shared, u32(enc.length), enc, u32(0), u32(0), u32(256)]))
    .digest();
  const { kty, crv, x, y } = ephemeral.publicKey.export({ format: 'jwk' }) as Json;
  const protectedHeader = encodePart({ alg: 'ECDH-ES', enc: 'A256GCM', epk: { kty, crv, x, y }, ...header });
  return [protectedHeader, '', ...gcm(contentKey, protectedHeader, Buffer.from(plaintext))].join('.');
}
