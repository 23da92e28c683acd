import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** docs/BENCHMARKS.md, which `npm run bench` rewrites whole. */
export const REPORT = new URL('../docs/BENCHMARKS.md', import.meta.url);

/** bench/results/<name>.json: the figures of a standalone run (soak, login timing), which the report reads. */
export const resultFile = (name: string) => new URL(`./results/${name}.json`, import.meta.url);

/** The JSON a standalone run wrote last, or undefined when it has never run (or the file is unreadable). */
export function readResult<T>(name: string): T | undefined {
  const file = resultFile(name);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * Puts `section` (which starts with its `## ` heading) into docs/BENCHMARKS.md in place of the section
 * with the same heading, or before `## Reading` when there is none: a standalone run shows its figures
 * without rerunning the whole suite, and the next `npm run bench` renders the same section from its JSON.
 */
export function spliceSection(section: string): void {
  const heading = section.split('\n', 1)[0]!;
  const text = readFileSync(REPORT, 'utf8');
  const lines = text.split('\n');
  const start = lines.indexOf(heading);
  const body = section.replace(/\n+$/, '').split('\n');
  if (start >= 0) {
    let end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
    if (end < 0) end = lines.length;
    lines.splice(start, end - start, ...body, '');
  } else {
    let at = lines.indexOf('## Reading');
    if (at < 0) at = lines.length;
    lines.splice(at, 0, ...body, '');
  }
  writeFileSync(REPORT, lines.join('\n'));
}
