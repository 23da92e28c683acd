/**
 * `npm run race [-- --minutes 10] [--clients 50] [--users 10] [--store sqlite|postgres] [--seed N] [--json file] [--log file]`
 *
 * Runs the race checker (fuzz/race-checker.ts): virtual clients log in, refresh, log out, log out
 * everywhere, change passwords and get revoked by an admin, concurrently, against the real server on a
 * real database; then checks the invariants on the log of every request, restarts the server on the same
 * database and checks again. Exits 1 on any violation or server error. `--log` writes the client-side
 * log (every request with its start, end and answer) as JSON lines.
 *
 * `--store postgres` uses a fresh schema of REVOCABLE_TEST_POSTGRES_URL (default
 * postgres://postgres@127.0.0.1:5432/test), dropped at the end.
 */
import { writeFileSync } from 'node:fs';
import { freshPostgresSchema } from '../test/support/postgres-schema.ts';
import { tempDir } from '../test/helpers.ts';
import { type RaceOptions, formatRaceReport, runRaceChecker } from './race-checker.ts';

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  if (index !== -1) return process.argv[index + 1];
  return process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

async function main(): Promise<number> {
  const seconds = argument('seconds') !== undefined ? Number(argument('seconds')) : Number(argument('minutes') ?? 10) * 60;
  const clients = Number(argument('clients') ?? 50);
  const users = Number(argument('users') ?? 10);
  const store = argument('store') ?? 'sqlite';
  const seed = Number(argument('seed') ?? (Date.now() >>> 0));
  if (!(seconds > 0) || !(clients > 0) || !(users > 0) || (store !== 'sqlite' && store !== 'postgres')) {
    console.error('usage: npm run race -- [--minutes N | --seconds N] [--clients N] [--users N] [--store sqlite|postgres] [--seed N] [--json file] [--log file]');
    return 2;
  }
  const started = new Date();
  console.log(`race: ${clients} clients over ${users} users, ${seconds} s on ${store}, seed ${seed}, ${started.toISOString()}`);
  const directory = tempDir();
  const schema = store === 'postgres' ? await freshPostgresSchema('race') : undefined;
  const database: RaceOptions['database'] = schema ? { kind: 'postgres', url: schema.url } : { kind: 'sqlite', directory: directory.path };
  try {
    const logFile = argument('log');
    const report = await runRaceChecker({
      durationMs: seconds * 1000,
      clients,
      users,
      database,
      seed,
      log: (line) => console.log(line),
      ...(logFile ? { logFile } : {}),
    });
    console.log(formatRaceReport(report));
    const json = argument('json');
    if (json) writeFileSync(json, JSON.stringify({ date: started.toISOString(), ...report }, null, 2));
    const violations = Object.values(report.violations).reduce((sum, n) => sum + n, 0);
    return violations || report.serverErrors.length ? 1 : 0;
  } finally {
    await schema?.drop();
    directory.remove();
  }
}

process.exitCode = await main();
