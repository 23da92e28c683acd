import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createAuth } from '../src/auth.ts';

/**
 * A real `revocable serve` process for the benchmarks that go through HTTP (bench/soak.ts,
 * bench/login-timing.ts): `node bin/revocable.js serve` on loopback, configured by environment as an
 * operator would, with its log kept apart from the measuring process.
 */

export const BIN = new URL('../bin/revocable.js', import.meta.url).pathname;
export const SIGNING_KEY = 'bench-signing-key-of-at-least-32-bytes!!';

export interface ServeProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** The server's RSS now, from /proc/<pid>/status (MiB); undefined once it has exited. */
  rssMiB(): number | undefined;
  /** Its warnings and errors so far (pino levels 40 and up, and anything that is not a JSON log line). */
  problems(): { warnings: number; errors: number; first: string[] };
  /** SIGTERM (a clean shutdown), then its exit code or signal. */
  stop(): Promise<string>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Creates `usernames` (argon2id at the library's default cost, the server's) in the database, before the server starts. */
export async function seedUsers(
  database: string,
  users: readonly { username: string; password: string; isActive?: boolean }[],
): Promise<void> {
  const auth = await createAuth({ settings: { signingKey: SIGNING_KEY }, database, logger: { error() {}, warn() {} } });
  try {
    for (const user of users) await auth.users.create(user);
  } finally {
    await auth.close();
  }
}

/**
 * Starts `revocable serve` on `database` and waits until `/healthz` answers. The log (one JSON line per
 * request: the server logs like that in production too) goes through `grep` into a file that keeps
 * only the lines that are not info-level: a separate process drains the pipe, so the server never
 * waits on a slow reader, and nothing in this process parses it.
 */
export async function startServe(options: { database: string; dir: string; env?: Record<string, string> }): Promise<ServeProcess> {
  const port = await freePort();
  const logFile = join(options.dir, 'serve-problems.log');
  const logFd = openSync(logFile, 'w');
  const filter = spawn('grep', ['--line-buffered', '-v', '"level":30,'], { stdio: ['pipe', logFd, 'inherit'] });
  closeSync(logFd);
  const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', String(port)], {
    env: {
      ...process.env,
      DATABASE_URL: options.database,
      REVOCABLE_SIGNING_KEY: SIGNING_KEY,
      ...options.env,
    },
    stdio: ['ignore', filter.stdin!, filter.stdin!],
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? `exit code ${code}`));
  });
  let up = false;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline && child.exitCode === null; ) {
    up = await fetch(`${url}/healthz`).then(
      (res) => res.ok,
      () => false,
    );
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const problems = () => {
    let text = '';
    try {
      text = readFileSync(logFile, 'utf8');
    } catch {}
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    const level = (line: string) => Number(/"level":(\d+)/.exec(line)?.[1] ?? 50);
    return {
      warnings: lines.filter((line) => level(line) === 40).length,
      errors: lines.filter((line) => level(line) >= 50).length,
      first: lines.slice(0, 5).map((line) => line.slice(0, 400)),
    };
  };
  const stopFilter = () => {
    filter.stdin?.end();
  };
  if (!up) {
    child.kill('SIGKILL');
    await exited;
    stopFilter();
    throw new Error(`revocable serve did not start: ${problems().first.join('\n')}`);
  }
  return {
    url,
    pid: child.pid!,
    child,
    rssMiB() {
      try {
        const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
        return kb === undefined ? undefined : Number(kb) / 1024;
      } catch {
        return undefined;
      }
    },
    problems,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const how = await exited;
      clearTimeout(timer);
      stopFilter();
      await new Promise((resolve) => filter.once('exit', resolve));
      return how;
    },
  };
}
