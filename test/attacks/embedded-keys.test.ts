/**
 * RFC 8725 §3.10 (and RFC 7515 §4.1.2–§4.1.6): keys named or carried by the token are never followed
 * nor trusted. Tokens signed with the attacker's own key embed it as `jwk` (RSA, EC, OKP, and a
 * symmetric `oct` key) or in a self-signed `x5c` certificate, or point `jku` / `x5u` at a server the
 * test runs on loopback. Each is refused, and the attacker's server never gets a single request.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plainServer } from '../resource/support.ts';
import { type Json, type Signer, attackerKey, b64u, jws } from './support.ts';
import { type ForgeContext, STANDARD_LABS, accepts, attack, useLabs } from './targets.ts';

let evil: Awaited<ReturnType<typeof plainServer>>;
beforeAll(async () => {
  // What a verifier that followed the headers would fetch: the attacker's key set and certificate.
  evil = await plainServer((request, response) => {
    const key = attackerKey('ES256');
    if (request.url?.startsWith('/jwks')) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [key.jwk, attackerKey('RS256').jwk, attackerKey('EdDSA').jwk] }));
    } else {
      response.writeHead(200, { 'content-type': 'application/pem-certificate-chain' });
      response.end(`-----BEGIN CERTIFICATE-----\n${key.certificate.toString('base64')}\n-----END CERTIFICATE-----\n`);
    }
  });
});
afterAll(async () => {
  await evil?.close();
});

type AttackerAlg = 'RS256' | 'ES256' | 'EdDSA';
const ATTACKER_ALGS: readonly AttackerAlg[] = ['RS256', 'ES256', 'EdDSA'];
const OCT_SECRET = Buffer.from('the attacker chose this secret, 32 bytes or more');

/** Signed with the attacker's key of `alg`, the header built from the attacker's key. */
function signedByAttacker(alg: AttackerAlg, header: (key: ReturnType<typeof attackerKey>, context: ForgeContext) => Json) {
  return (context: ForgeContext) => {
    const key = attackerKey(alg);
    const signer: Signer = { alg, key: key.privateKey };
    return jws({ alg, typ: 'JWT', ...header(key, context) }, context.base.payload, signer);
  };
}

/** Before and after every presentation: not one request reached the attacker's server. */
const noRequest = async (token: string) => {
  expect(evil.requests()).toBe(0);
  return token;
};
const NOTHING_FETCHED = { after: () => expect(evil.requests(), "requests to the attacker's server").toBe(0) };
const SERVER_KID = { ...NOTHING_FETCHED, only: (t: { lab: string }) => t.lab === 'ES256' };

describe('RFC 8725 §3.10: embedded and referenced keys', () => {
  const labs = useLabs(STANDARD_LABS);
  const evilUrl = (path: string) => `${evil.url}${path}`;

  for (const alg of ATTACKER_ALGS) {
    attack(labs, `RFC 8725 §3.10: a ${alg} token carrying the attacker's key as jwk, kid its thumbprint`, (context) =>
      noRequest(signedByAttacker(alg, (key) => ({ kid: key.jwk.kid, jwk: key.jwk }))(context)),
      NOTHING_FETCHED,
    );
    attack(labs, `RFC 8725 §3.10: a ${alg} token carrying the attacker's key as jwk, kid the server's`, (context) =>
      noRequest(signedByAttacker(alg, (key, { lab }) => ({ kid: lab.realm.kid, jwk: key.jwk }))(context)),
      SERVER_KID,
    );
    attack(labs, `RFC 8725 §3.10: a ${alg} token carrying the attacker's key as jwk, without kid`, (context) =>
      noRequest(signedByAttacker(alg, (key) => ({ jwk: key.jwk }))(context)),
      NOTHING_FETCHED,
    );
    attack(labs, `RFC 8725 §3.10: a ${alg} token carrying the attacker's self-signed certificate as x5c`, (context) =>
      noRequest(signedByAttacker(alg, (key) => ({ x5c: [key.certificate.toString('base64')] }))(context)),
      NOTHING_FETCHED,
    );
    attack(labs, `RFC 8725 §3.10: a ${alg} token with x5c and the certificate's x5t#S256`, (context) =>
      noRequest(
        signedByAttacker(alg, (key) => ({
          x5c: [key.certificate.toString('base64')],
          'x5t#S256': b64u(createHash('sha256').update(key.certificate).digest()),
        }))(context),
      ),
      NOTHING_FETCHED,
    );
    attack(labs, `RFC 8725 §3.10: a ${alg} token whose jku names the attacker's JWKS on loopback`, (context) =>
      noRequest(signedByAttacker(alg, (key) => ({ kid: key.jwk.kid, jku: evilUrl('/jwks.json') }))(context)),
      NOTHING_FETCHED,
    );
    attack(labs, `RFC 8725 §3.10: a ${alg} token whose jku names the attacker's JWKS, kid the server's`, (context) =>
      noRequest(
        signedByAttacker(alg, (_key, { lab }) => ({ kid: lab.realm.kid, jku: evilUrl('/jwks.json') }))(context),
      ),
      SERVER_KID,
    );
    attack(labs, `RFC 8725 §3.10: a ${alg} token whose x5u names the attacker's certificate on loopback`, (context) =>
      noRequest(signedByAttacker(alg, () => ({ x5u: evilUrl('/cert.pem') }))(context)),
      NOTHING_FETCHED,
    );
    attack(labs, `RFC 8725 §3.10: a ${alg} token with jwk, x5c, jku and x5u at once`, (context) =>
      noRequest(
        signedByAttacker(alg, (key) => ({
          kid: key.jwk.kid,
          jwk: key.jwk,
          x5c: [key.certificate.toString('base64')],
          jku: evilUrl('/jwks.json'),
          x5u: evilUrl('/cert.pem'),
        }))(context),
      ),
      NOTHING_FETCHED,
    );
  }

  attack(labs, 'RFC 8725 §3.10: an HS256 token carrying its own symmetric key as jwk (kty "oct")', ({ base }) =>
    noRequest(jws({ alg: 'HS256', typ: 'JWT', jwk: { kty: 'oct', k: b64u(OCT_SECRET) } }, base.payload, { alg: 'HS256', key: OCT_SECRET })),
    NOTHING_FETCHED,
  );
  // The server's own token with jku and x5u added (and signed again with its key): RFC 7515 §4 has a
  // verifier ignore header parameters it does not use, so the token is judged on its real signature
  // alone and accepted; what matters is that nothing was fetched.
  accepts(labs, "RFC 8725 §3.10: the server's own token with jku and x5u naming the attacker's server, never fetched,", ({ lab, base }) =>
    noRequest(lab.realm.resign(base, {}, { jku: evilUrl('/jwks.json'), x5u: evilUrl('/cert.pem') })),
    NOTHING_FETCHED,
  );

  it('no request ever reached the attacker\'s server while this file ran', async () => {
    // A verifier following jku/x5u in the background would have called by now.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(evil.requests()).toBe(0);
  });
});
