/**
 * The race checker (fuzz/race-checker.ts, `npm run race`) in small: 50 virtual clients over 10 users
 * for a few seconds on a SQLite file, then every invariant checked on the log, before and after a
 * restart. A second, shorter run against a server that ignores revocations shows that the checks do
 * catch what they are there to catch.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Auth } from '../src/auth.ts';
import { TokenRevokedError } from '../src/errors.ts';
import { formatRaceReport, runRaceChecker } from '../fuzz/race-checker.ts';
import { tempDir } from './helpers.ts';

const SECONDS = Number(process.env.REVOCABLE_RACE_SECONDS ?? 10);

const dirs: { remove(): void }[] = [];
afterAll(() => {
  for (const dir of dirs) dir.remove();
});
const sqliteFile = () => {
  const dir = tempDir();
  dirs.push(dir);
  return { kind: 'sqlite' as const, directory: dir.path };
};

const total = (record: Record<string, number>) => Object.values(record).reduce((sum, n) => sum + n, 0);

describe('race checker', () => {
  it(`${SECONDS} s of concurrent logins, refreshes, logouts, password changes and revoke-alls: no invariant broken`, async () => {
    const report = await runRaceChecker({ durationMs: SECONDS * 1000, clients: 50, users: 10, database: sqliteFile(), seed: 20261129, sweepLimit: 5000 });
    const text = formatRaceReport(report);
    expect(report.violations, text).toEqual({});
    expect(report.serverErrors, text).toEqual([]);
    // The workload did happen: every kind of request, and every invariant checked.
    for (const kind of ['login', 'refresh', 'refresh-double', 'refresh-reuse', 'logout', 'logout-all', 'password', 'admin-revoke-user', 'blacklist', 'verify', 'me']) {
      expect(report.operations[kind] ?? 0, `${kind}\n${text}`).toBeGreaterThan(0);
    }
    expect(report.checks['revoked token refused (during the run)'] ?? 0, text).toBeGreaterThan(100);
    expect(report.checks['revoked token refused (after the restart)'] ?? 0, text).toBeGreaterThan(100);
    expect(report.checks['refresh token redeemed at most once'] ?? 0, text).toBeGreaterThan(100);
    expect(report.checks['retired password never logs in'] ?? 0, text).toBeGreaterThan(0);
    expect(report.checks['one acknowledged password change per old password'] ?? 0, text).toBeGreaterThan(0);
    expect(total(report.checks)).toBeGreaterThan(1000);
  }, 120_000);

  it('catches a server that lets revoked tokens through', async () => {
    const acceptRevoked = (auth: Auth) => {
      const verifyToken = auth.verifyToken;
      (auth as { verifyToken: Auth['verifyToken'] }).verifyToken = (token) => {
        try {
          return verifyToken(token);
        } catch (error) {
          if (error instanceof TokenRevokedError) return {};
          throw error;
        }
      };
    };
    const report = await runRaceChecker({ durationMs: 3000, clients: 20, users: 4, database: sqliteFile(), seed: 7, sweepLimit: 500, sabotage: acceptRevoked });
    expect(report.violations['revoked token refused (during the run)'] ?? 0, formatRaceReport(report)).toBeGreaterThan(0);
    expect(report.violations['revoked token refused (after the restart)'] ?? 0, formatRaceReport(report)).toBeGreaterThan(0);
  }, 60_000);
});
