/**
 * RFC 8725 §3.1 (and §2.1): `alg: none`, the unsecured JWS of RFC 7515 appendix A.5, in any letter
 * case, with no signature, with no signature segment at all, with the server's own signature of the
 * original token, and with a real signature the server's key made over this very header and payload
 * (a server that ignored `alg` and verified with its key would accept that one).
 */
import { describe } from 'vitest';
import { encodePart, jws } from './support.ts';
import { STANDARD_LABS, attack, useLabs } from './targets.ts';

const SPELLINGS = ['none', 'None', 'NONE', 'nOnE'] as const;

describe('RFC 8725 §3.1: alg "none"', () => {
  const labs = useLabs(STANDARD_LABS);
  for (const alg of SPELLINGS) {
    attack(labs, `RFC 8725 §3.1: alg "${alg}" with an empty signature`, ({ base }) => jws({ ...base.header, alg }, base.payload, 'none'));
    attack(labs, `RFC 8725 §3.1: alg "${alg}" without a signature segment (two segments)`, ({ base }) =>
      jws({ ...base.header, alg }, base.payload, 'none').slice(0, -1),
    );
    attack(labs, `RFC 8725 §3.1: alg "${alg}" with the original token's signature kept`, ({ base }) => {
      const signature = base.token.split('.')[2];
      return `${jws({ ...base.header, alg }, base.payload, 'none')}${signature}`;
    });
    attack(labs, `RFC 8725 §3.1: alg "${alg}" carrying a valid signature by the server's key over this header and payload`, ({ lab, base }) =>
      lab.realm.sign(base.payload, { ...base.header, alg }),
    );
    attack(labs, `RFC 8725 §3.1: alg "${alg}" without typ or kid`, ({ base }) => `${encodePart({ alg })}.${encodePart(base.payload)}.`);
  }
});
