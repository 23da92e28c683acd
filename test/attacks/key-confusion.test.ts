/**
 * RFC 8725 §2.1 / §3.1, HS/RS, HS/ES and HS/EdDSA key confusion: the attacker reads the server's public
 * key off `GET /.well-known/jwks.json` and uses it, in every form a verifier might be fed it (PEM,
 * DER, the JWK's raw key bytes, the JWK text), as the HMAC secret of an HS256 (or HS384/HS512) token,
 * with and without the server's `kid`. Against servers signing with RS256, ES256 and EdDSA, on every
 * route, and on a resource server that verifies with the JWKS.
 */
import { createPublicKey } from 'node:crypto';
import { describe } from 'vitest';
import { KEY_PAIRS } from '../resource/support.ts';
import { type Json, jws, publicKeySecrets } from './support.ts';
import { type ForgeContext, type LabSpec, attack, useLabs } from './targets.ts';

const LABS: readonly LabSpec[] = [
  { name: 'RS256', algorithm: 'RS256' },
  { name: 'ES256', algorithm: 'ES256' },
  { name: 'EdDSA', algorithm: 'EdDSA' },
];

const published = new Map<string, Json>();

/** The server's public key as the attacker reads it off the JWKS (read once per server). */
async function publishedJwk({ lab }: ForgeContext): Promise<Json> {
  let jwk = published.get(lab.url);
  if (jwk === undefined) {
    const res = await fetch(`${lab.url}/.well-known/jwks.json`);
    jwk = ((await res.json()) as { keys: Json[] }).keys[0] as Json;
    published.set(lab.url, jwk);
  }
  return jwk;
}

for (const spec of LABS) {
  describe(`key confusion against an ${spec.algorithm} server`, () => {
    const labs = useLabs([spec]);
    const pem = KEY_PAIRS[spec.algorithm as keyof typeof KEY_PAIRS].publicKey;
    // The names of the forms, known before the lab starts (the secrets are taken from the published key in each test).
    const forms = publicKeySecrets(createPublicKey(pem).export({ format: 'jwk' }) as Json, pem).map((form) => form.name);
    for (const [index, form] of forms.entries()) {
      for (const withKid of [true, false]) {
        for (const alg of ['HS256', ...(index === 0 ? ['HS384', 'HS512'] : [])]) {
          attack(
            labs,
            `RFC 8725 §3.1: ${alg} keyed with the server's ${spec.algorithm} public key (${form}), ${withKid ? "with the server's kid" : 'without kid'}`,
            async (context) => {
              const jwk = await publishedJwk(context);
              const secret = publicKeySecrets(jwk, pem)[index]?.secret as Buffer | string;
              const header = { alg, typ: 'JWT', ...(withKid ? { kid: jwk.kid } : {}) };
              return jws(header, context.base.payload, { alg, key: secret });
            },
          );
        }
      }
    }
  });
}
