/**
 * RFC 8725 §3.8 / §3.9 (RFC 7519 §4.1.1, §4.1.3): with `audience` and `issuer` set, a token for another
 * audience or from another issuer, or without them, is refused; without `audience` set, a token that
 * names one is refused (as PyJWT refuses it). Every token carries a real signature of the server's key.
 */
import { describe } from 'vitest';
import { type LabSpec, STANDARD_LABS, accepts, attack, useLabs } from './targets.ts';

const AUDIENCE = 'https://api.example';
const ISSUER = 'https://auth.example';
const LABS: readonly LabSpec[] = [
  { name: 'HS256 aud/iss', algorithm: 'HS256', settings: { audience: AUDIENCE, issuer: ISSUER } },
  { name: 'ES256 aud/iss', algorithm: 'ES256', settings: { audience: AUDIENCE, issuer: ISSUER } },
];

const AUDIENCES: readonly [string, unknown][] = [
  ['another audience', 'https://other.example'],
  ['the audience in another letter case', AUDIENCE.toUpperCase()],
  ['the audience with a trailing slash', `${AUDIENCE}/`],
  ['a list without the audience', ['https://other.example', 'https://third.example']],
  ['an empty string', ''],
  ['an empty list', []],
  ['a number', 1],
  ['null', null],
  ['an object', { aud: AUDIENCE }],
  ['missing', undefined],
];

const ISSUERS: readonly [string, unknown][] = [
  ['another issuer', 'https://attacker.example'],
  ['the issuer in another letter case', ISSUER.toUpperCase()],
  ['the issuer with a trailing slash', `${ISSUER}/`],
  ['the issuer in a list', [ISSUER]],
  ['an empty string', ''],
  ['a number', 1],
  ['null', null],
  ['missing', undefined],
];

describe('RFC 8725 §3.9 / §3.8: audience and issuer', () => {
  const labs = useLabs(LABS);
  accepts(labs, 'control: the server\'s own token (aud and iss as configured)', ({ base }) => base.token);
  accepts(labs, 'RFC 7519 §4.1.3: aud a list that contains the audience', ({ lab, base }) =>
    lab.realm.resign(base, { aud: ['https://other.example', AUDIENCE] }),
  );
  for (const [name, aud] of AUDIENCES) {
    attack(labs, `RFC 8725 §3.9: aud ${name}`, ({ lab, base }) => lab.realm.resign(base, { aud }));
  }
  for (const [name, iss] of ISSUERS) {
    attack(labs, `RFC 8725 §3.8: iss ${name}`, ({ lab, base }) => lab.realm.resign(base, { iss }));
  }
  attack(labs, 'RFC 8725 §3.8 / §3.9: aud and iss both missing', ({ lab, base }) => lab.realm.resign(base, { aud: undefined, iss: undefined }));
});

describe('RFC 8725 §3.9: an audience where none is configured', () => {
  const labs = useLabs(STANDARD_LABS);
  attack(labs, 'RFC 8725 §3.9: aud present while the server expects none', ({ lab, base }) => lab.realm.resign(base, { aud: AUDIENCE }));
  attack(labs, 'RFC 8725 §3.9: aud an empty list while the server expects none', ({ lab, base }) => lab.realm.resign(base, { aud: [] }));
});
