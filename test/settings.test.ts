import { describe, expect, it } from 'vitest';
import { SettingsError } from '../src/errors.ts';
import { parseDuration } from '../src/settings/duration.ts';
import { resolveSettings } from '../src/settings/settings.ts';
import { SIGNING_KEY } from './helpers.ts';

describe('settings', () => {
  it("has Simple JWT's defaults", () => {
    const settings = resolveSettings({ signingKey: SIGNING_KEY });
    expect(settings).toMatchObject({
      accessTokenLifetime: 300,
      refreshTokenLifetime: 86400,
      rotateRefreshTokens: false,
      blacklistAfterRotation: false,
      updateLastLogin: false,
      algorithm: 'HS256',
      verifyingKey: '',
      leeway: 0,
      authHeaderTypes: ['Bearer'],
      authHeaderName: 'Authorization',
      userIdField: 'id',
      userIdClaim: 'user_id',
      tokenTypeClaim: 'token_type',
      jtiClaim: 'jti',
      checkUserIsActive: true,
    });
    expect(settings.audience).toBeUndefined();
    expect(settings.issuer).toBeUndefined();
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it('reads durations as seconds or strings with a unit', () => {
    expect(resolveSettings({ signingKey: SIGNING_KEY, accessTokenLifetime: '5m' }).accessTokenLifetime).toBe(300);
    expect(resolveSettings({ signingKey: SIGNING_KEY, refreshTokenLifetime: '2d' }).refreshTokenLifetime).toBe(172800);
    expect(resolveSettings({ signingKey: SIGNING_KEY, accessTokenLifetime: 90 }).accessTokenLifetime).toBe(90);
    expect(parseDuration('12h')).toBe(43200);
    expect(parseDuration('30s')).toBe(30);
    expect(parseDuration('45')).toBe(45);
    expect(parseDuration('500ms')).toBe(0.5);
    expect(parseDuration('5 minutes')).toBeUndefined();
    expect(parseDuration(Number.NaN)).toBeUndefined();
  });

  it.each([
    [{}, 'signingKey', 'is required'],
    [{ signingKey: 'too-short' }, 'signingKey', 'at least 32 bytes'],
    [{ signingKey: 'x'.repeat(40), algorithm: 'HS512' }, 'signingKey', 'at least 64 bytes'],
    [{ signingKey: SIGNING_KEY, accessTokenLifetime: 0 }, 'accessTokenLifetime', 'greater than zero'],
    [{ signingKey: SIGNING_KEY, refreshTokenLifetime: -5 }, 'refreshTokenLifetime', 'greater than zero'],
    [{ signingKey: SIGNING_KEY, accessTokenLifetime: '5 parsecs' }, 'accessTokenLifetime', 'not a duration'],
    [{ signingKey: SIGNING_KEY, leeway: -1 }, 'leeway', 'zero or more'],
    [{ signingKey: SIGNING_KEY, accesTokenLifetime: 5 }, 'accesTokenLifetime', 'unknown setting'],
    [{ signingKey: SIGNING_KEY, algorithm: 'none' }, 'algorithm', ''],
    [{ signingKey: SIGNING_KEY, rotateRefreshTokens: 'yes' }, 'rotateRefreshTokens', ''],
    [{ signingKey: SIGNING_KEY, algorithm: 'RS256' }, 'signingKey', 'needs a private key (PEM or JWK)'],
    [{ signingKey: SIGNING_KEY, verifyingKey: 'another-key-of-at-least-32-bytes!!!' }, 'verifyingKey', ''],
  ])('refuses %j naming %s', (input, setting, problem) => {
    let caught: unknown;
    try {
      resolveSettings(input as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SettingsError);
    const error = caught as SettingsError;
    expect(error.setting).toBe(setting);
    expect(error.code).toBe('invalid_setting');
    expect(error.message).toContain(`Invalid setting "${setting}"`);
    expect(error.message).toContain(problem);
  });

  it('counts the HMAC key in UTF-8 bytes, as Simple JWT does', () => {
    // 16 two-byte characters: 32 bytes.
    expect(() => resolveSettings({ signingKey: 'é'.repeat(16) })).not.toThrow();
    expect(() => resolveSettings({ signingKey: 'é'.repeat(15) })).toThrow(SettingsError);
  });
});
