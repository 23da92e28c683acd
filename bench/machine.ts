import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, platform, release, tmpdir, totalmem } from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  date: string;
  /** 1-minute load average when the run started: other work on the machine skews every figure. */
  loadAverage: number;
  /** Where the SQLite files live, and the file system type there (tmpfs would make fsync free). */
  tempDir: string;
  tempFileSystem: string;
  sqlite: string;
  /** Versions of the libraries on the measured paths and of those compared with them. */
  libraries: Record<string, string>;
}

const require = createRequire(import.meta.url);

/** What the figures were measured on. */
export function describeMachine(): Machine {
  return {
    cpu: cpuModel(),
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${platform()} ${release()}`,
    date: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
    tempDir: tmpdir(),
    tempFileSystem: fileSystemOf(tmpdir()),
    sqlite: sqliteVersion(),
    libraries: Object.fromEntries(
      [
        'better-sqlite3',
        'kysely',
        'fast-jwt',
        'fastify',
        'pg',
        'jose',
        'jsonwebtoken',
        '@fastify/jwt',
        'express',
        'passport',
        'passport-jwt',
        'autocannon',
      ].map((name) => [name, versionOf(name)]),
    ),
  };
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // Not Linux: fall through.
  }
  return 'unknown';
}

/** The type of the longest mount point containing `path`, from /proc/mounts. */
function fileSystemOf(path: string): string {
  try {
    let best = { mount: '', type: 'unknown' };
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mount, type] = line.split(' ');
      if (!mount || !type) continue;
      const contains = path === mount || path.startsWith(mount.endsWith('/') ? mount : `${mount}/`);
      if (contains && mount.length >= best.mount.length) best = { mount, type };
    }
    return best.type;
  } catch {
    return 'unknown';
  }
}

/** From the installed package.json (some packages do not export it, so read the file). */
function versionOf(name: string): string {
  try {
    const file = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function sqliteVersion(): string {
  const Database = require('better-sqlite3') as typeof import('better-sqlite3');
  const db = new Database(':memory:');
  try {
    return (db.prepare('select sqlite_version() as version').get() as { version: string }).version;
  } finally {
    db.close();
  }
}
