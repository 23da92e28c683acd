import type { KeyInfo } from '../../keys/manager.ts';
import { parseDuration } from '../../settings/duration.ts';
import { ALGORITHMS, type Algorithm } from '../../settings/settings.ts';
import { CliError, openAuth } from '../context.ts';

type Print = (line: string) => void;

function algorithmOption(value: string | undefined): Algorithm | undefined {
  if (value === undefined) return undefined;
  if (!(ALGORITHMS as readonly string[]).includes(value)) {
    throw new CliError(`--algorithm must be one of ${ALGORITHMS.join(', ')}, got "${value}"`);
  }
  return value as Algorithm;
}

/** `--delay` as milliseconds: a duration as the settings read them (`90`, `30s`, `5m`), zero allowed. */
function delayOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = parseDuration(value);
  if (seconds === undefined || seconds < 0) throw new CliError(`--delay must be a duration such as 60s or 5m, got "${value}"`);
  return Math.round(seconds * 1000);
}

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

/** `revocable keys generate`: a standby key, published in the JWKS and verifying, signing from the next rotation. */
export async function generateKey(options: { algorithm?: string }, print: Print): Promise<void> {
  const algorithm = algorithmOption(options.algorithm);
  const { auth } = await openAuth({ createKey: false });
  try {
    const key = await auth.keys.generate(algorithm);
    print(`generated ${key.algorithm} key ${key.kid} (standby: it verifies, and is published when asymmetric; \`keys rotate\` makes it sign)`);
  } finally {
    await auth.close();
  }
}

/**
 * `revocable keys rotate`: the oldest standby key (a new one if none) signs after the delay. The first
 * rotation stores the configured key, so this opens the library as `serve` does: with the real key,
 * never a throwaway one.
 */
export async function rotateKeys(options: { algorithm?: string; delay?: string }, print: Print): Promise<void> {
  const algorithm = algorithmOption(options.algorithm);
  const delayMs = delayOption(options.delay);
  const { auth } = await openAuth({ createKey: true, log: (line) => process.stderr.write(`revocable: ${line}\n`) });
  try {
    const rotation = await auth.keys.rotate({
      ...(algorithm !== undefined ? { algorithm } : {}),
      ...(delayMs !== undefined ? { delayMs } : {}),
    });
    const { activated } = rotation;
    print(`key ${activated.kid} (${activated.algorithm}) signs from ${iso(rotation.activatesAtMs)}`);
    print(`the keys signing until then verify until ${iso(rotation.retiredVerifyUntilMs)}`);
  } finally {
    await auth.close();
  }
}

/** `revocable keys list`: the managed keys and their states; never a private key. */
export async function listKeys(print: Print): Promise<void> {
  const { auth } = await openAuth({ createKey: false });
  try {
    const keys = await auth.keys.list();
    if (keys.length === 0) {
      print('no managed keys: the configured key signs (`keys generate`, then `keys rotate`)');
      return;
    }
    for (const line of table(keys)) print(line);
  } finally {
    await auth.close();
  }
}

function table(keys: readonly KeyInfo[]): string[] {
  const rows = [
    ['kid', 'algorithm', 'state', 'created', 'activates', 'verify-until'],
    ...keys.map((key) => [key.kid, key.algorithm, key.state, iso(key.createdAtMs), iso(key.activatesAtMs), iso(key.verifyUntilMs)]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
}
