/**
 * RFC 8725 §3.1 / §3.2: only the configured algorithm is accepted. Other HMAC strengths under the
 * server's own secret, RSA (PKCS #1 and PSS), ECDSA and EdDSA under the attacker's keys, the configured
 * algorithm's name in another spelling over a real signature, and `alg` missing or not a string.
 */
import { describe } from 'vitest';
import { type Json, type Signer, attackerKey, jws } from './support.ts';
import { type ForgeContext, attack, useLabs } from './targets.ts';

interface AlgorithmCase {
  title: string;
  forge(context: ForgeContext): string;
}

/** The server's header with another `alg` (or none), signed by `signer`. */
const signedAs = (alg: unknown, signer: (context: ForgeContext) => Signer) => (context: ForgeContext) => {
  const header: Json = { ...context.base.header, alg };
  if (alg === undefined) delete header.alg;
  return jws(header, context.base.payload, signer(context));
};
const realKey = ({ lab }: ForgeContext) => lab.realm.signer;
const realKeyAs =
  (alg: string) =>
  ({ lab }: ForgeContext): Signer => ({ alg, key: lab.realm.signer.key });
const attacker = (alg: 'RS256' | 'PS256' | 'ES256' | 'EdDSA', as?: string) => (): Signer => ({
  alg: as ?? alg,
  key: attackerKey(alg).privateKey,
});

/** Cases common to every server: `alg` missing or not a string, over the server's own signature. */
const NOT_A_STRING: AlgorithmCase[] = [
  { title: '`alg` missing', forge: signedAs(undefined, realKey) },
  ...[256, null, true, ['HS256'], ['ES256'], { name: 'HS256' }].map((alg) => ({
    title: `\`alg\` not a string (${JSON.stringify(alg)})`,
    forge: signedAs(alg, realKey),
  })),
];

const HS256_CASES: AlgorithmCase[] = [
  { title: 'HS384 with the server\'s own secret', forge: signedAs('HS384', realKeyAs('HS384')) },
  { title: 'HS512 with the server\'s own secret', forge: signedAs('HS512', realKeyAs('HS512')) },
  { title: 'RS256 with the attacker\'s key', forge: signedAs('RS256', attacker('RS256')) },
  { title: 'RS512 with the attacker\'s key', forge: signedAs('RS512', attacker('RS256', 'RS512')) },
  { title: 'PS256 with the attacker\'s key', forge: signedAs('PS256', attacker('PS256')) },
  { title: 'PS512 with the attacker\'s key', forge: signedAs('PS512', attacker('PS256', 'PS512')) },
  { title: 'ES256 with the attacker\'s key', forge: signedAs('ES256', attacker('ES256')) },
  { title: 'EdDSA with the attacker\'s key', forge: signedAs('EdDSA', attacker('EdDSA')) },
  ...['hs256', 'Hs256', 'HS256 ', ' HS256', 'HS-256', 'HMAC-SHA256', ''].map((alg) => ({
    title: `alg ${JSON.stringify(alg)} over a real HS256 signature`,
    forge: signedAs(alg, realKey),
  })),
  ...NOT_A_STRING,
];

const ES256_CASES: AlgorithmCase[] = [
  { title: 'ES384 claimed over the server\'s own ES256 signature', forge: signedAs('ES384', realKey) },
  { title: 'ES512 claimed over the server\'s own ES256 signature', forge: signedAs('ES512', realKey) },
  { title: 'ES256K claimed over the server\'s own ES256 signature', forge: signedAs('ES256K', realKey) },
  { title: 'RS256 with the attacker\'s key', forge: signedAs('RS256', attacker('RS256')) },
  { title: 'PS256 with the attacker\'s key', forge: signedAs('PS256', attacker('PS256')) },
  { title: 'EdDSA with the attacker\'s key', forge: signedAs('EdDSA', attacker('EdDSA')) },
  {
    title: 'HS256 with an attacker\'s secret',
    forge: signedAs('HS256', () => ({ alg: 'HS256', key: 'an-attacker-secret-of-at-least-32-bytes' })),
  },
  ...['es256', 'Es256', 'ES256 ', 'ECDSA'].map((alg) => ({
    title: `alg ${JSON.stringify(alg)} over a real ES256 signature`,
    forge: signedAs(alg, realKey),
  })),
  ...NOT_A_STRING,
];

describe('RFC 8725 §3.1: an algorithm outside the allow-list on an HS256 server', () => {
  const labs = useLabs([{ name: 'HS256', algorithm: 'HS256' }]);
  for (const c of HS256_CASES) attack(labs, `RFC 8725 §3.1: ${c.title}`, c.forge);
});

describe('RFC 8725 §3.1: an algorithm outside the allow-list on an ES256 server', () => {
  const labs = useLabs([{ name: 'ES256', algorithm: 'ES256' }]);
  for (const c of ES256_CASES) {
    attack(labs, `RFC 8725 §3.1: ${c.title}, with the server's kid`, c.forge);
    attack(labs, `RFC 8725 §3.1: ${c.title}, without kid`, (context) =>
      c.forge({ ...context, base: { ...context.base, header: { ...context.base.header, kid: undefined } } }),
    );
  }
});
