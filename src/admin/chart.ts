import { type Html, html } from './html.ts';

/**
 * The overview's chart: logins and revocations per hour, as an inline SVG drawn on the server (no
 * script, no image request). Colours and fonts come from the stylesheet (classes), never from inline
 * styles, which the Content-Security-Policy forbids. Accessible: the SVG is an image with a title and
 * a description that states the totals, each bar has a title, and a table holds the same figures.
 */

export interface HourCounts {
  /** The hour's start, epoch milliseconds. */
  hourMs: number;
  logins: number;
  revocations: number;
}

const WIDTH = 760;
const HEIGHT = 260;
const MARGIN = { top: 14, right: 10, bottom: 34, left: 44 };
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_HEIGHT = HEIGHT - MARGIN.top - MARGIN.bottom;

const hourLabel = (hourMs: number) => `${String(new Date(hourMs).getUTCHours()).padStart(2, '0')}:00`;
const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;

/** A round step for the y axis: 1, 2 or 5 times a power of ten, so that four steps reach `max`. */
export function axisStep(max: number): number {
  const raw = Math.max(1, max) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= raw) ?? raw;
  return Math.max(1, Math.ceil(step));
}

/** The chart of `hours` (oldest first), its legend, and the table with the same figures. */
export function hourlyChart(hours: HourCounts[]): Html {
  const totalLogins = hours.reduce((sum, hour) => sum + hour.logins, 0);
  const totalRevocations = hours.reduce((sum, hour) => sum + hour.revocations, 0);
  const step = axisStep(Math.max(0, ...hours.map((hour) => Math.max(hour.logins, hour.revocations))));
  const top = step * 4;
  const y = (value: number) => MARGIN.top + PLOT_HEIGHT - (value / top) * PLOT_HEIGHT;
  const slot = PLOT_WIDTH / Math.max(1, hours.length);
  const barWidth = Math.max(2, Math.floor((slot - 6) / 2));
  const fixed = (value: number) => Number(value.toFixed(1));

  const grid = [0, 1, 2, 3, 4].map((index) => {
    const value = index * step;
    return html`<line class="grid" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${fixed(y(value))}" y2="${fixed(y(value))}"/>
<text class="axis" x="${MARGIN.left - 6}" y="${fixed(y(value) + 4)}" text-anchor="end">${value}</text>`;
  });
  const bars = hours.map((hour, index) => {
    const left = MARGIN.left + index * slot + (slot - 2 * barWidth - 2) / 2;
    const span = `${hourLabel(hour.hourMs)}–${hourLabel(hour.hourMs + 3_600_000)} UTC`;
    const bar = (kind: 'login' | 'revocation', value: number, x: number, text: string) =>
      value > 0 &&
      html`<rect class="bar ${kind}" x="${fixed(x)}" y="${fixed(y(value))}" width="${barWidth}" height="${fixed(PLOT_HEIGHT + MARGIN.top - y(value))}"><title>${span}: ${text}</title></rect>`;
    const label =
      index % 3 === 0 &&
      html`<text class="axis" x="${fixed(MARGIN.left + index * slot + slot / 2)}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle">${hourLabel(hour.hourMs)}</text>`;
    return html`${bar('login', hour.logins, left, plural(hour.logins, 'login', 'logins'))}${bar(
      'revocation',
      hour.revocations,
      left + barWidth + 2,
      plural(hour.revocations, 'revocation', 'revocations'),
    )}${label}`;
  });
  const busiest = hours.reduce<HourCounts | undefined>(
    (best, hour) => (hour.logins + hour.revocations > (best ? best.logins + best.revocations : 0) ? hour : best),
    undefined,
  );
  const description =
    `${plural(totalLogins, 'login', 'logins')} and ${plural(totalRevocations, 'revocation', 'revocations')} in the last ${hours.length} hours.` +
    (busiest ? ` Busiest hour: ${hourLabel(busiest.hourMs)} UTC (${busiest.logins} logins, ${busiest.revocations} revocations).` : '');

  return html`<figure class="chart">
<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">
<title id="chart-title">Logins and revocations per hour, last ${hours.length} hours (UTC)</title>
<desc id="chart-desc">${description}</desc>
${grid}
<line class="baseline" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${MARGIN.top + PLOT_HEIGHT}" y2="${MARGIN.top + PLOT_HEIGHT}"/>
${bars}
<text class="axis" x="${WIDTH - MARGIN.right}" y="${HEIGHT - 4}" text-anchor="end">hour (UTC)</text>
</svg>
<figcaption>
<span class="legend"><span class="swatch login"></span> Logins (${totalLogins})</span>
<span class="legend"><span class="swatch revocation"></span> Revocations (${totalRevocations})</span>
</figcaption>
</figure>
<details class="chart-table">
<summary>The same figures as a table</summary>
<table>
<thead><tr><th scope="col">Hour (UTC)</th><th scope="col" class="num">Logins</th><th scope="col" class="num">Revocations</th></tr></thead>
<tbody>
${hours.map(
  (hour) =>
    html`<tr><th scope="row">${hourLabel(hour.hourMs)}–${hourLabel(hour.hourMs + 3_600_000)}</th><td class="num">${hour.logins}</td><td class="num">${hour.revocations}</td></tr>`,
)}
</tbody>
</table>
</details>`;
}
