import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { thumbprint } from '../src/keys/jwk.ts';
import { openStore } from '../src/store/open.ts';
import { SIGNING_KEY, tempDir } from './helpers.ts';

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '..', 'bin', 'revocable.js');
const dir = tempDir();
afterAll(() => dir.remove());
const FIXTURES = resolve(import.meta.dirname, 'fixtures', 'interop');
const fixture = (name: string) => join(FIXTURES, name);

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
    // Not a terminal: the final line alone, no progress bar on stderr.
    expect(flushed.stderr).toBe('');
    expect(await cli(['flush-expired', '--batch-size', '2'])).toMatchObject({
      code: 0,
      stdout: 'deleted 0 outstanding tokens, 0 blacklisted tokens, 0 sessions and 0 revocation log entries, all expired\n',
      stderr: '',
    });
    expect(await cli(['flush-expired', '--batch-size', '0'])).toMatchObject({
      code: 1,
      stderr: 'revocable: --batch-size must be a whole number of rows, at least 1, got "0"\n',
    });
  });

  it.each([
    [{ REVOCABLE_ROTATE_REFRESH_TOKENS: 'yes' }, 'REVOCABLE_ROTATE_REFRESH_TOKENS'],
    [{ REVOCABLE_BLACKLIST_AFTER_ROTATION: '1' }, 'REVOCABLE_BLACKLIST_AFTER_ROTATION'],
    [{ REVOCABLE_ACCESS_TOKEN_LIFETIME: '0' }, 'REVOCABLE_ACCESS_TOKEN_LIFETIME'],
    [{ REVOCABLE_REFRESH_TOKEN_LIFETIME: 'forever' }, 'REVOCABLE_REFRESH_TOKEN_LIFETIME'],
    [{ REVOCABLE_FLUSH_EXPIRED_INTERVAL: 'hourly' }, 'REVOCABLE_FLUSH_EXPIRED_INTERVAL'],
    [{ REVOCABLE_SIGNING_KEY: 'short' }, 'REVOCABLE_SIGNING_KEY'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ DATABASE_URL: 'oracle://db' }, 'DATABASE_URL'],
    [{ REVOCABLE_ALGORITHM: 'XS256' }, 'REVOCABLE_ALGORITHM'],
    [{ REVOCABLE_ALGORITHM: 'ES256', REVOCABLE_SIGNING_KEY: 'not a key' }, 'REVOCABLE_SIGNING_KEY'],
    [{ REVOCABLE_SIGNING_KEY_FILE: '/nonexistent/signing.pem' }, 'REVOCABLE_SIGNING_KEY_FILE'],
    [{ REVOCABLE_SIGNING_KEY: SIGNING_KEY, REVOCABLE_SIGNING_KEY_FILE: fixture('ec256.key') }, 'REVOCABLE_SIGNING_KEY'],
    [{ REVOCABLE_ALGORITHM: 'ES256', REVOCABLE_SIGNING_KEY_FILE: fixture('ec384.key') }, 'REVOCABLE_SIGNING_KEY_FILE'],
    [
      { REVOCABLE_ALGORITHM: 'ES256', REVOCABLE_SIGNING_KEY_FILE: fixture('ec256.key'), REVOCABLE_VERIFYING_KEY_FILE: fixture('ec384.pub') },
      'REVOCABLE_VERIFYING_KEY_FILE',
    ],
    [{ REVOCABLE_ALGORITHM: 'ES256', REVOCABLE_SIGNING_KEY_FILE: fixture('ec256.key'), REVOCABLE_VERIFYING_KEY: 'nope' }, 'REVOCABLE_VERIFYING_KEY'],
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

/** The managed keys of a SQLite file, read directly: what `keys list` must never print. */
async function storedKeys(database: string) {
  const store = await openStore(`sqlite:${join(dir.path, database)}`);
  try {
    return await store.listSigningKeys();
  } finally {
    await store.close();
  }
}

const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';

describe('revocable keys', () => {
  const env = { DATABASE_URL: 'sqlite:./keys.db', REVOCABLE_SIGNING_KEY: '' };

  it('generate adds standby keys, rotate stores the real key (from the key file serve uses) and schedules one, list shows them', async () => {
    expect(await cli(['keys', 'list'], env)).toMatchObject({
      code: 0,
      stdout: 'no managed keys: the configured key signs (`keys generate`, then `keys rotate`)\n',
    });
    const es = await cli(['keys', 'generate', '--algorithm', 'ES256'], env);
    expect(es.code).toBe(0);
    const esKid = /^generated ES256 key ([A-Za-z0-9_-]{43}) \(standby: /.exec(es.stdout)?.[1];
    expect(esKid).toBeDefined();
    const hs = await cli(['keys', 'generate'], env);
    const hsKid = /^generated HS256 key ([A-Za-z0-9_-]{22}) /.exec(hs.stdout)?.[1];
    expect(hsKid).toBeDefined();

    const listed = await cli(['keys', 'list'], env);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^kid +algorithm +state +created +activates +verify-until$/);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(new RegExp(`^${esKid} +ES256 +standby +${ISO} +- +-$`)),
      expect.stringMatching(new RegExp(`^${hsKid} +HS256 +standby +${ISO} +- +-$`)),
    ]);

    const before = Date.now();
    const rotated = await cli(['keys', 'rotate', '--delay', '1h'], env);
    const after = Date.now();
    expect(rotated.code).toBe(0);
    const keyFile = join(dir.path, 'keys.db.key');
    // No key was configured: rotate, like serve, creates the key file and stores that key.
    expect(rotated.stderr).toBe(`revocable: REVOCABLE_SIGNING_KEY is not set: generated a signing key and saved it to ${keyFile} (mode 0600)\n`);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const [signs, retires] = rotated.stdout.trimEnd().split('\n');
    // The oldest standby key is the one scheduled.
    const activatesAt = Date.parse(new RegExp(`^key ${esKid} \\(ES256\\) signs from (${ISO})$`).exec(signs ?? '')?.[1] ?? '');
    expect(activatesAt).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(activatesAt).toBeLessThanOrEqual(after + 3_600_000);
    // Until then + the longest lifetime (1 day) + 30 s.
    const verifyUntil = Date.parse(new RegExp(`^the keys signing until then verify until (${ISO})$`).exec(retires ?? '')?.[1] ?? '');
    expect(verifyUntil).toBe(activatesAt + 86_400_000 + 30_000);

    const stored = await storedKeys('keys.db');
    const configured = stored.find((key) => key.kid !== esKid && key.kid !== hsKid);
    expect(configured).toMatchObject({ algorithm: 'HS256', privateKey: readFileSync(keyFile, 'utf8').trim(), verifyUntilMs: verifyUntil });

    const relisted = (await cli(['keys', 'list'], env)).stdout;
    const rows = relisted.trimEnd().split('\n').slice(1);
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${esKid} +ES256 +pending +${ISO} +${new Date(activatesAt).toISOString()} +-$`)),
        expect.stringMatching(new RegExp(`^${hsKid} +HS256 +standby +${ISO} +- +-$`)),
        expect.stringMatching(new RegExp(`^${configured?.kid} +HS256 +active +${ISO} +1970-01-01T00:00:00.000Z +${new Date(verifyUntil).toISOString()}$`)),
      ]),
    );
    expect(rows).toHaveLength(3);
    for (const key of stored) expect(relisted).not.toContain(key.privateKey);
    expect(relisted).not.toContain('PRIVATE KEY');
  });

  it('rotate refuses a shared database without REVOCABLE_SIGNING_KEY, rather than store a random key', async () => {
    const result = await cli(['keys', 'rotate'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', REVOCABLE_SIGNING_KEY: '' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'revocable: Invalid setting "REVOCABLE_SIGNING_KEY": is required with a shared database (every instance must sign with the same key); or set REVOCABLE_SIGNING_KEY_FILE\n',
    );
  });

  it('refuses an unknown --algorithm and a --delay that is not a duration', async () => {
    expect(await cli(['keys', 'generate', '--algorithm', 'HS1'], env)).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^revocable: --algorithm must be one of HS256, .*EdDSA, got "HS1"\n$/),
    });
    expect(await cli(['keys', 'rotate', '--delay', 'soon'], env)).toMatchObject({
      code: 1,
      stderr: 'revocable: --delay must be a duration such as 60s or 5m, got "soon"\n',
    });
  });

  it('REVOCABLE_ALGORITHM=ES256 with a SQLite file and no key: a PEM private key is generated into <db>.key (mode 0600)', async () => {
    const es = { DATABASE_URL: 'sqlite:./es.db', REVOCABLE_SIGNING_KEY: '', REVOCABLE_ALGORITHM: 'ES256' };
    const rotated = await cli(['keys', 'rotate', '--delay', '0'], es);
    expect(rotated.code).toBe(0);
    const keyFile = join(dir.path, 'es.db.key');
    expect(rotated.stderr).toContain(`generated a private key for ES256 (PEM) and saved it to ${keyFile} (mode 0600)`);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const stored = await storedKeys('es.db');
    expect(stored.map((key) => key.algorithm)).toEqual(['ES256', 'ES256']);
    // The key file's key is the one stored: its kid is its thumbprint.
    const configured = stored.find((key) => key.privateKey.trim() === readFileSync(keyFile, 'utf8').trim());
    expect(configured?.kid).toBe(thumbprint(configured?.publicKey as string));
    // The file now holds a private key: read under HS256 it is refused by name, not taken for a secret.
    expect(await cli(['keys', 'list'], { ...es, REVOCABLE_ALGORITHM: '' })).toMatchObject({
      code: 1,
      stderr: `revocable: Invalid setting "REVOCABLE_ALGORITHM": is HS256, but ${keyFile} holds a private key, not an HMAC secret\n`,
    });
  });

  it('REVOCABLE_SIGNING_KEY_FILE: a PEM or a JWK file is the key rotate stores', async () => {
    const jwkFile = join(dir.path, 'ec256.jwk');
    writeFileSync(jwkFile, JSON.stringify(createPrivateKey(readFileSync(fixture('ec256.key'))).export({ format: 'jwk' })));
    const kid = thumbprint(readFileSync(fixture('ec256.pub'), 'utf8'));
    for (const [database, file] of [
      ['pem.db', fixture('ec256.key')],
      ['jwk.db', jwkFile],
    ] as const) {
      const result = await cli(['keys', 'rotate'], {
        DATABASE_URL: `sqlite:./${database}`,
        REVOCABLE_ALGORITHM: 'ES256',
        REVOCABLE_SIGNING_KEY: '',
        REVOCABLE_SIGNING_KEY_FILE: file,
      });
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect((await storedKeys(database)).map((key) => key.kid)).toContain(kid);
    }
  });
});
