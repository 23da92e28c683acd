import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { SIGNING_KEY, tempDir } from './helpers.ts';

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '..', 'bin', 'revocable.js');
const dir = tempDir();
afterAll(() => dir.remove());

async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      cwd: dir.path,
      env: { ...process.env, DATABASE_URL: 'sqlite:./cli.db', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('revocable CLI', () => {
  it('migrates, creates users and refuses a duplicate', async () => {
    expect(await cli(['migrate'])).toMatchObject({ code: 0, stdout: 'migrations applied to sqlite:./cli.db\n' });
    expect((await cli(['create-user', 'alice', '--password', 'pw', '--staff'])).stdout).toBe(
      'created user "alice" (id 1, staff)\n',
    );
    expect((await cli(['create-user', 'bob', '--password', 'pw', '--inactive'])).stdout).toBe(
      'created user "bob" (id 2, inactive)\n',
    );
    expect(await cli(['create-user', 'alice', '--password', 'pw'])).toMatchObject({
      code: 1,
      stderr: 'revocable: A user named "alice" already exists.\n',
    });
  });

  it('asks for --password when no terminal is attached', async () => {
    expect(await cli(['create-user', 'carol'])).toMatchObject({
      code: 1,
      stderr: 'revocable: --password is required when no terminal is attached\n',
    });
  });

  it('revokes a user and flushes expired rows', async () => {
    expect(await cli(['revoke-user', 'alice', '--reason', 'stolen laptop'])).toMatchObject({
      code: 0,
      stdout: 'revoked every token of "alice" (revocation generation 1)\n',
    });
    expect(await cli(['revoke-user', 'nobody'])).toMatchObject({ code: 1, stderr: 'revocable: no user named "nobody"\n' });
    const flushed = await cli(['flush-expired']);
    expect(flushed.code).toBe(0);
    expect(flushed.stdout).toMatch(/^deleted \d+ outstanding tokens/);
  });

  it.each([
    [{ REVOCABLE_ROTATE_REFRESH_TOKENS: 'yes' }, 'REVOCABLE_ROTATE_REFRESH_TOKENS'],
    [{ REVOCABLE_BLACKLIST_AFTER_ROTATION: '1' }, 'REVOCABLE_BLACKLIST_AFTER_ROTATION'],
    [{ REVOCABLE_ACCESS_TOKEN_LIFETIME: '0' }, 'REVOCABLE_ACCESS_TOKEN_LIFETIME'],
    [{ REVOCABLE_REFRESH_TOKEN_LIFETIME: 'forever' }, 'REVOCABLE_REFRESH_TOKEN_LIFETIME'],
    [{ REVOCABLE_SIGNING_KEY: 'short' }, 'REVOCABLE_SIGNING_KEY'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ DATABASE_URL: 'oracle://db' }, 'DATABASE_URL'],
  ])('prints one clear line and exits non-zero for %j', async (env, name) => {
    const result = await cli(['migrate'], env);
    expect(result.code).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`Invalid setting "${name}"`);
  });

  it('serve generates a signing key (mode 0600), applies migrations and answers HTTP', async () => {
    const serveDir = tempDir();
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
        cwd: serveDir.path,
        env: { ...process.env, DATABASE_URL: 'sqlite:./served.db', REVOCABLE_SIGNING_KEY: '' },
      });
      const url = await new Promise<string>((resolvePromise, reject) => {
        let output = '';
        child!.stdout!.on('data', (chunk) => {
          output += chunk;
          const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
          if (match) resolvePromise(match[1]!);
        });
        child!.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
      });
      expect(statSync(join(serveDir.path, 'served.db.key')).mode & 0o777).toBe(0o600);
      const res = await fetch(`${url}/api/token/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'nobody', password: 'x' }),
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ detail: 'No active account found with the given credentials' });
    } finally {
      child?.kill('SIGTERM');
      serveDir.remove();
    }
  });

  it('uses REVOCABLE_SIGNING_KEY when set', async () => {
    expect((await cli(['migrate'], { REVOCABLE_SIGNING_KEY: SIGNING_KEY })).code).toBe(0);
  });
});

describe('revocable deactivate-user', () => {
  it('deactivates the user and revokes every token', async () => {
    expect((await cli(['create-user', 'erin', '--password', 'pw'])).code).toBe(0);
    expect(await cli(['deactivate-user', 'erin'])).toMatchObject({
      code: 0,
      stdout: 'deactivated "erin" and revoked every token of the user\n',
    });
    expect(await cli(['deactivate-user', 'nobody'])).toMatchObject({ code: 1, stderr: 'revocable: no user named "nobody"\n' });
  });
});
