/**
 * RFC 8725 §2.8 / §3.12 (and RFC 7516, RFC 7519 §5.2): only a compact JWS with a JSON object payload is
 * a token here. A JWE (five segments; really encrypted, even under the server's own key material), a
 * nested JWT (`cty: "JWT"`, the payload a whole token) even when the outer JWS carries the server's
 * own signature, and the JWS JSON serializations are refused, never unwrapped.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { describe } from 'vitest';
import { SIGNING_KEY } from '../helpers.ts';
import { KEY_PAIRS } from '../resource/support.ts';
import { attackerKey, encodePart, jweDirect, jweEcdhEs, jweRsaOaep, jws } from './support.ts';
import { type ForgeContext, STANDARD_LABS, attack, useLabs } from './targets.ts';

/** A JWE the server could decrypt if it wanted to: `dir` under a key made from the shared secret, or ECDH-ES to its public key. */
function jweForServer({ lab }: ForgeContext, plaintext: string, header = {}): string {
  if (lab.spec.algorithm === 'HS256') return jweDirect(plaintext, createHash('sha256').update(SIGNING_KEY).digest(), header);
  return jweEcdhEs(plaintext, createPublicKey(KEY_PAIRS.ES256.publicKey), header);
}

describe('RFC 8725 §3.12: JWE and nested JWT where a JWS is expected', () => {
  const labs = useLabs(STANDARD_LABS);

  attack(labs, "RFC 7516: a JWE encrypted for the server (dir / ECDH-ES, A256GCM) of the token's claims", (context) =>
    jweForServer(context, JSON.stringify(context.base.payload)),
  );
  attack(labs, 'RFC 7519 §5.2: a JWE encrypted for the server whose plaintext is the real token (cty "JWT")', (context) =>
    jweForServer(context, context.base.token, { cty: 'JWT' }),
  );
  attack(labs, "RFC 7516: a JWE (RSA-OAEP-256) for the attacker's key whose plaintext is the real token", ({ base }) =>
    jweRsaOaep(base.token, attackerKey('RS256').publicKey, { cty: 'JWT' }),
  );
  attack(labs, "RFC 7516: a JWE header with alg and kid of the server's key, over the real token's segments", ({ lab, base }) => {
    const [, payload, signature] = base.token.split('.');
    const header = encodePart({ alg: 'RSA-OAEP', enc: 'A256GCM', ...(lab.realm.kid ? { kid: lab.realm.kid } : {}) });
    return [header, payload, signature, payload, signature].join('.');
  });
  attack(labs, 'RFC 7516: five segments: the real token followed by two more', ({ base }) => {
    const [, payload, signature] = base.token.split('.');
    return `${base.token}.${payload}.${signature}`;
  });
  attack(labs, "RFC 7519 §5.2: a nested JWT, the outer JWS signed with the server's real key (cty \"JWT\")", ({ lab, base }) =>
    lab.realm.sign(base.token, { ...base.header, cty: 'JWT' }),
  );
  attack(labs, 'RFC 7519 §5.2: a nested JWT, the outer JWS signed with the server\'s real key (no cty)', ({ lab, base }) =>
    lab.realm.sign(base.token, base.header),
  );
  attack(labs, 'RFC 7519 §5.2: a nested JWT, the outer JWS unsigned (alg "none", cty "JWT")', ({ base }) =>
    jws({ alg: 'none', cty: 'JWT' }, base.token, 'none'),
  );
  attack(labs, "RFC 7519 §5.2: a nested JWT, the outer JWS signed with an attacker's secret (cty \"JWT\")", ({ base }) =>
    jws({ alg: 'HS256', typ: 'JWT', cty: 'JWT' }, base.token, { alg: 'HS256', key: 'an-attacker-secret-of-at-least-32-bytes' }),
  );
  attack(labs, 'RFC 7515 §7.2.2: the real token in the flattened JWS JSON serialization', ({ base }) => {
    const [protectedHeader, payload, signature] = base.token.split('.');
    return JSON.stringify({ payload, protected: protectedHeader, signature });
  });
  attack(labs, 'RFC 7515 §7.2.1: the real token in the general JWS JSON serialization', ({ base }) => {
    const [protectedHeader, payload, signature] = base.token.split('.');
    return JSON.stringify({ payload, signatures: [{ protected: protectedHeader, signature }] });
  });
});
