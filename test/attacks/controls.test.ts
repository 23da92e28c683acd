/**
 * The controls of the attack suite: the harness itself is sound. On every target, the token the server
 * just minted is accepted, and so is the same token signed again by the forger with the server's real
 * key (byte for byte the same claims): so when an attack is refused, it is for what the attack changed,
 * not for how the suite forges or presents tokens.
 */
import { describe } from 'vitest';
import { STANDARD_LABS, accepts, useLabs } from './targets.ts';

describe('controls', () => {
  const labs = useLabs(STANDARD_LABS);
  accepts(labs, 'control: the token the server minted', ({ base }) => base.token);
  accepts(labs, 'control: the same claims re-signed by the forger with the real key', ({ lab, base }) => lab.realm.resign(base));
});
