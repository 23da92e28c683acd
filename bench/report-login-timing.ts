import type { Machine } from './machine.ts';
import { count, ms, table } from './stats.ts';

/** Login timing's figures (bench/login-timing.ts writes bench/results/login-timing.json) and its section of docs/BENCHMARKS.md. */

export const TIMING_CLASSES = ['known user, wrong password', 'unknown username', 'inactive user, right password'] as const;
export type TimingClass = (typeof TIMING_CLASSES)[number];

export interface TimingStats {
  name: TimingClass;
  attempts: number;
  p10Ms: number;
  p25Ms: number;
  medianMs: number;
  p75Ms: number;
  p90Ms: number;
  meanMs: number;
}

export interface LoginTimingResult {
  date: string;
  machine: Machine;
  loadAverage: { start: number[]; end: number[] };
  /** argon2id parameters of the stored hashes and of the decoy (the server's defaults). */
  hashing: { algorithm: string; memoryCostKiB: number; timeCost: number; parallelism: number };
  attemptsPerClass: number;
  warmupPerClass: number;
  durationS: number;
  classes: TimingStats[];
  /** Against the known user with a wrong password: (median − its median) / its median, and the median of the per-round differences. */
  differences: { name: TimingClass; ofMedians: number; pairedMedianMs: number; pairedRelative: number }[];
  /** Every attempt answered 401 `No active account found with the given credentials`. */
  allRefused: boolean;
  acceptance: { threshold: number; met: boolean };
}

export const TIMING_TITLE = '## 8. Login timing: does the time tell whether a username exists?';

const percent = (value: number) => `${value >= 0 ? '+' : '−'}${Math.abs(100 * value).toFixed(1)} %`;

export function timingSection(r: LoginTimingResult): string {
  const h = r.hashing;
  const reference = r.classes[0]!;
  return [
    TIMING_TITLE,
    '',
    `Last run: **${r.date}**, \`npx tsx bench/login-timing.ts\` (${Math.round(r.durationS)} s, too long for \`npm run bench\`, which`,
    `renders this section from \`bench/results/login-timing.json\`). ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node};`,
    `load average (1, 5, 15 min) ${r.loadAverage.start.join(', ')} at the start, ${r.loadAverage.end.join(', ')} at the end.`,
    '',
    `\`POST /api/token/\` to a real \`revocable serve\` process on a SQLite file, over loopback, one request at a time, with`,
    `the stored hashes at the server's default cost (${h.algorithm}, ${count(h.memoryCostKiB)} KiB, ${h.timeCost} passes, parallelism ${h.parallelism}).`,
    'Login throttling is off for this run (`REVOCABLE_LOGIN_*=0`): it answers 429 before any hashing, for every',
    `username alike, and would stop the run. ${count(r.attemptsPerClass)} rounds after ${r.warmupPerClass} unmeasured ones; each round makes one`,
    'attempt of each kind below in a shuffled order, so drift on a shared machine falls on all three. Time is from',
    `sending the request to reading the whole answer. Every attempt got 401 \`No active account found with the given credentials\`: ${r.allRefused ? 'yes' : '**no**'}.`,
    '',
    table(
      ['attempt', 'attempts', 'p10', 'p25', '**median**', 'p75', 'p90', 'mean', 'median vs known user', 'paired difference (median)'],
      r.classes.map((c) => {
        const d = r.differences.find((x) => x.name === c.name);
        return [
          c.name,
          count(c.attempts),
          ms(c.p10Ms),
          ms(c.p25Ms),
          `**${ms(c.medianMs)}**`,
          ms(c.p75Ms),
          ms(c.p90Ms),
          ms(c.meanMs),
          d ? `**${percent(d.ofMedians)}**` : '',
          d ? `${d.pairedMedianMs >= 0 ? '+' : '−'}${ms(Math.abs(d.pairedMedianMs))} (${percent(d.pairedRelative)})` : '',
        ];
      }),
    ),
    '',
    `The paired difference is the median, over the rounds, of (this attempt − the known user's attempt of the same round),`,
    `relative to the known user's median (${ms(reference.medianMs)}).`,
    `Acceptance: unknown and known users differ by less than ${Math.round(100 * r.acceptance.threshold)} % at the median:` +
      ` **${r.acceptance.met ? 'met' : 'missed'}**. Why they take the same time: every attempt runs exactly one argon2id verification,` +
      ' against the user\'s hash or, for an unknown username (or a stored hash in no supported format), against a decoy hash' +
      ' made at start-up with the same parameters, and an inactive user\'s password is verified before the flag is looked at' +
      ' (`src/users/users.ts`; `test/login-constant-work.test.ts` asserts the one verification, never a time).',
    '',
  ].join('\n');
}

export function readTiming(r: LoginTimingResult): string[] {
  const unknown = r.differences.find((d) => d.name === 'unknown username');
  const inactive = r.differences.find((d) => d.name === 'inactive user, right password');
  return [
    `- **A login's time does not tell whether the username exists** (${r.date}): over ${count(r.attemptsPerClass)} attempts each,` +
      ` an unknown username took ${unknown ? percent(unknown.ofMedians) : 'n/a'} against a known user with a wrong password at the median` +
      ` (${ms(r.classes[1]?.medianMs ?? Number.NaN)} against ${ms(r.classes[0]?.medianMs ?? Number.NaN)}), an inactive user` +
      ` ${inactive ? percent(inactive.ofMedians) : 'n/a'}; the bound is ${Math.round(100 * r.acceptance.threshold)} %:` +
      ` **${r.acceptance.met ? 'met' : 'missed'}**. Both are one argon2id verification.`,
  ];
}
