/**
 * RFC 7519 §4.1.4–§4.1.6: `exp`, `nbf` and `iat` at and around the leeway's edges, against the server's
 * injected clock (a whole second, `clockAt`), with leeway 0 and 10 s. The rule, PyJWT's (so Simple
 * JWT's): refused when now ≥ exp + leeway, when now < nbf − leeway, and when iat > now + leeway. Every
 * token is a server-minted one with the one claim moved and signed again with the server's key, so the
 * accepted twins show the edge is exactly there.
 */
import { describe } from 'vitest';
import { type ForgeContext, type LabSpec, type Target, accepts, attack, useLabs } from './targets.ts';

const LABS: readonly LabSpec[] = [
  { name: 'HS256 leeway 0', algorithm: 'HS256' },
  { name: 'ES256 leeway 0', algorithm: 'ES256' },
  { name: 'HS256 leeway 10 s', algorithm: 'HS256', settings: { leeway: 10 } },
  { name: 'ES256 leeway 10 s', algorithm: 'ES256', settings: { leeway: 10 } },
];

/** The lab's clock in whole seconds, and its leeway. */
const now = ({ lab }: ForgeContext) => ({ T: lab.clock() / 1000, L: Number(lab.spec.settings?.leeway ?? 0) });
const moved = (claim: string, at: (T: number, L: number) => number) => (context: ForgeContext) => {
  const { T, L } = now(context);
  return context.lab.realm.resign(context.base, { [claim]: at(T, L) });
};
const sliding = (t: Target) => t.route === 'POST /api/token/sliding/refresh/';

describe('RFC 7519 §4.1.4–§4.1.6: exp, nbf and iat at the leeway edges', () => {
  const labs = useLabs(LABS);
  // exp
  accepts(labs, 'RFC 7519 §4.1.4: now = exp + leeway − 1', moved('exp', (T, L) => T - L + 1));
  attack(labs, 'RFC 7519 §4.1.4: now = exp + leeway (the first second refused)', moved('exp', (T, L) => T - L));
  attack(labs, 'RFC 7519 §4.1.4: now = exp + leeway + 1', moved('exp', (T, L) => T - L - 1));
  attack(labs, 'RFC 7519 §4.1.4: now = exp + leeway + 0.5 s (a fractional exp)', moved('exp', (T, L) => T - L - 0.5));
  accepts(labs, 'RFC 7519 §4.1.4: now = exp + leeway − 0.5 s (a fractional exp)', moved('exp', (T, L) => T - L + 0.5));
  // Exactly at exp: accepted only thanks to a leeway.
  for (const spec of LABS) {
    const only = (t: Target) => t.lab === spec.name;
    if (spec.settings?.leeway) accepts(labs, 'RFC 7519 §4.1.4: now exactly at exp (within the leeway)', moved('exp', (T) => T), { only });
    else attack(labs, 'RFC 7519 §4.1.4: now exactly at exp (no leeway)', moved('exp', (T) => T), { only });
  }
  // nbf
  accepts(labs, 'RFC 7519 §4.1.5: now = nbf − leeway', moved('nbf', (T, L) => T + L));
  attack(labs, 'RFC 7519 §4.1.5: now = nbf − leeway − 1', moved('nbf', (T, L) => T + L + 1));
  attack(labs, 'RFC 7519 §4.1.5: nbf a day ahead', moved('nbf', (T) => T + 86_400));
  // iat (PyJWT refuses a token issued in the future beyond the leeway: ImmatureSignatureError)
  accepts(labs, 'RFC 7519 §4.1.6: iat = now + leeway', moved('iat', (T, L) => T + L));
  attack(labs, 'RFC 7519 §4.1.6: iat in the future beyond the leeway (now + leeway + 1)', moved('iat', (T, L) => T + L + 1));
  attack(labs, 'RFC 7519 §4.1.6: iat a year in the future', moved('iat', (T) => T + 365 * 86_400));
  // refresh_exp of a sliding token: the same rule, its own message.
  accepts(labs, 'Simple JWT refresh_exp: now = refresh_exp + leeway − 1', moved('refresh_exp', (T, L) => T - L + 1), { only: sliding });
  attack(labs, 'Simple JWT refresh_exp: now = refresh_exp + leeway', moved('refresh_exp', (T, L) => T - L), {
    only: sliding,
    refusal: "Token 'refresh_exp' claim has expired",
  });
});
