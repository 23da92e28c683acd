/** The SVG charts beside docs/BENCHMARKS.md, drawn from a run's figures by bench/chart.ts. */
import { writeFileSync } from 'node:fs';
import { horizontalBarChart, logLogLineChart } from './chart.ts';
import type { HttpResult } from './http.ts';
import { HTTP_CHART, httpBars } from './report-http.ts';
import type { RevokeAllResult } from './revoke-all.ts';
import { median } from './stats.ts';

/** File name of the revoke-all chart, beside docs/BENCHMARKS.md. */
export const REVOKE_ALL_CHART = 'benchmarks-revoke-all.svg';

const shortCount = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));
const shortMs = (value: number) =>
  value >= 1000 ? `${+(value / 1000).toPrecision(3)} s` : value >= 10 ? `${Math.round(value)} ms` : `${+value.toPrecision(2)} ms`;

export function revokeAllChart(results: RevokeAllResult[]): string {
  const points = (pick: (r: RevokeAllResult) => number[]) =>
    results.filter((r) => pick(r).length > 0).map((r) => ({ x: r.n, y: median(pick(r)) }));
  return logLogLineChart({
    title: 'Revoke every token of a user holding N tokens (SQLite file, medians)',
    xLabel: 'N: outstanding refresh tokens (and sessions) of the user, log scale',
    yLabel: 'latency, log scale',
    formatX: shortCount,
    formatY: shortMs,
    series: [
      { name: 'revocable: revokeAllForUser acknowledged (every token refused from here)', color: '#2f6fde', points: points((r) => r.ack) },
      { name: 'revocable: background sweep that marks the N rows (bookkeeping)', color: '#7aa7f0', dashed: true, points: points((r) => r.sweep) },
      { name: 'per-row loop: blacklist each outstanding token (the usual Simple JWT recipe)', color: '#c0392b', points: points((r) => r.perRow) },
    ],
  });
}

export function httpChart(r: HttpResult): string {
  return horizontalBarChart({
    title: `GET /api/me/ with a valid HS256 token: requests/s (${r.connections} connections)`,
    unit: 'req/s',
    bars: httpBars(r),
    caption: 'autocannon in its own process; medians over interleaved rounds; in parentheses, the ratio to Fastify + @fastify/jwt.',
  });
}

/** Writes the charts of the sections that were measured into `dir` (docs/); returns the files written. */
export function writeCharts(
  dir: URL,
  results: { revokeAll?: RevokeAllResult[] | undefined; http?: HttpResult | undefined },
): string[] {
  const written: string[] = [];
  const write = (name: string, svg: string) => {
    writeFileSync(new URL(name, dir), svg);
    written.push(name);
  };
  if (results.revokeAll?.length) write(REVOKE_ALL_CHART, revokeAllChart(results.revokeAll));
  if (results.http?.servers.length) write(HTTP_CHART, httpChart(results.http));
  return written;
}
