import type { Settings } from '../settings/settings.ts';
import type { TokenType } from '../store/records.ts';
import type { Payload, TokenBackend } from './backend.ts';
import { GENERATION_CLAIM } from './claims.ts';
import { newJti } from './ids.ts';

export interface MintRequest {
  type: TokenType;
  userId: string | number;
  sessionId: string;
  generation: number;
  nowMs: number;
  /** No expiry later than this (the session's end under `sessionMaxLifetime`). */
  notAfterMs?: number;
  /** The token id, when the caller needs it before the token exists (to record it first). */
  jti?: string;
  /** Extra claims copied into the token (after the standard ones). */
  extra?: Payload;
}

export interface MintedToken {
  token: string;
  jti: string;
  issuedAtMs: number;
  expiresAtMs: number;
}

/** Lifetime in seconds of each token type. */
export function lifetimeOf(settings: Settings, type: TokenType): number {
  if (type === 'access') return settings.accessTokenLifetime;
  if (type === 'refresh') return settings.refreshTokenLifetime;
  return settings.slidingTokenLifetime;
}

/**
 * Mints one token. Claims come in Simple JWT's order (`token_type`, `exp`, `iat`, `jti`, then the user
 * id) so a client decoding the payload finds what it found before; `iat` is the time of minting, and
 * `exp` / `iat` are whole seconds as Simple JWT writes them.
 */
export function mintToken(backend: TokenBackend, settings: Settings, request: MintRequest): MintedToken {
  const jti = request.jti ?? newJti();
  const iat = Math.floor(request.nowMs / 1000);
  const exp = Math.floor(
    Math.min(request.nowMs / 1000 + lifetimeOf(settings, request.type), (request.notAfterMs ?? Number.POSITIVE_INFINITY) / 1000),
  );
  const payload: Payload = {
    [settings.tokenTypeClaim]: request.type,
    exp,
    iat,
    [settings.jtiClaim]: jti,
    [settings.userIdClaim]: request.userId,
    [settings.sessionIdClaim]: request.sessionId,
    [GENERATION_CLAIM]: request.generation,
  };
  if (request.extra) {
    for (const [claim, value] of Object.entries(request.extra)) if (!(claim in payload)) payload[claim] = value;
  }
  const typ = request.type === 'access' ? settings.accessTokenTyp : 'JWT';
  return { token: backend.sign(payload, typ), jti, issuedAtMs: request.nowMs, expiresAtMs: exp * 1000 };
}
