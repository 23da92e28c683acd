/**
 * RFC 7515 §4.1.11: a `crit` header naming an extension the verifier does not understand makes the
 * token invalid, and revocable understands none (nor does it accept `crit` at all: an empty list and a
 * list naming registered parameters are invalid too). Every token here carries a real signature of the
 * server's key, so `crit` is the only fault.
 */
import { describe } from 'vitest';
import type { Json } from './support.ts';
import { STANDARD_LABS, attack, useLabs } from './targets.ts';

const CASES: readonly [string, Json][] = [
  ['crit naming an unknown extension', { crit: ['https://attacker.example/ext'], 'https://attacker.example/ext': true }],
  ['crit naming an unknown extension that the header lacks', { crit: ['exp-header'] }],
  ['crit ["b64"] with b64 false (RFC 7797 unencoded payload)', { crit: ['b64'], b64: false }],
  ['crit ["b64"] with b64 true', { crit: ['b64'], b64: true }],
  ['an empty crit array', { crit: [] }],
  ['crit naming a registered parameter (alg)', { crit: ['alg'] }],
  ['crit as a string', { crit: 'b64' }],
  ['crit null', { crit: null }],
  ['crit an object', { crit: { b64: true } }],
];

describe('RFC 7515 §4.1.11: crit', () => {
  const labs = useLabs(STANDARD_LABS);
  for (const [name, header] of CASES) {
    attack(labs, `RFC 7515 §4.1.11: ${name}, over a real signature`, ({ lab, base }) => lab.realm.resign(base, {}, header));
  }
});
