/** Small hand-written SVG charts for docs/ (no dependency): a log-log line chart and a horizontal bar chart. */

export interface Point {
  x: number;
  y: number;
}

export interface Series {
  name: string;
  color: string;
  points: Point[];
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Tick labels. */
  formatX(value: number): string;
  formatY(value: number): string;
}

export interface Bar {
  label: string;
  value: number;
  /** Text after the value, e.g. a ratio. */
  note?: string;
  color: string;
}

export interface BarChartOptions {
  title: string;
  /** Unit of the values, after each figure (e.g. `req/s`). */
  unit: string;
  bars: Bar[];
  /** A footnote line under the bars. */
  caption?: string;
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

const escapeXml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

const round = (value: number) => Math.round(value * 10) / 10;

function svg(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">`,
    `<title>${escapeXml(title)}</title>`,
    // An opaque background: the chart stays legible on a dark page.
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" ${FONT} font-size="15" font-weight="600" fill="#111">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Powers of ten covering [min, max]. */
function decades(min: number, max: number): number[] {
  const from = Math.floor(Math.log10(min));
  const to = Math.ceil(Math.log10(max));
  return Array.from({ length: to - from + 1 }, (_, i) => 10 ** (from + i));
}

/** A line chart with logarithmic x and y axes (both span decades), a point and its value at each measurement. */
export function logLogLineChart(options: LineChartOptions): string {
  const width = 720;
  const height = 420;
  const left = 78;
  // Room for the value labels of the last points.
  const right = 72;
  const top = 44;
  const legendHeight = 20 * options.series.length + 8;
  const bottom = 56 + legendHeight;
  const all = options.series.flatMap((s) => s.points).filter((p) => p.x > 0 && p.y > 0);
  const xTicks = decades(Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x)));
  const yTicks = decades(Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y)));
  const [x0, x1] = [Math.log10(xTicks[0]!), Math.log10(xTicks.at(-1)!)];
  const [y0, y1] = [Math.log10(yTicks[0]!), Math.log10(yTicks.at(-1)!)];
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const sx = (x: number) => round(left + ((Math.log10(x) - x0) / (x1 - x0 || 1)) * plotW);
  const sy = (y: number) => round(top + plotH - ((Math.log10(y) - y0) / (y1 - y0 || 1)) * plotH);
  const body: string[] = [];
  for (const tick of yTicks) {
    body.push(`<line x1="${left}" y1="${sy(tick)}" x2="${left + plotW}" y2="${sy(tick)}" stroke="#e3e3e3"/>`);
    body.push(
      `<text x="${left - 8}" y="${sy(tick) + 4}" text-anchor="end" ${FONT} font-size="11" fill="#444">${escapeXml(options.formatY(tick))}</text>`,
    );
  }
  for (const tick of xTicks) {
    body.push(`<line x1="${sx(tick)}" y1="${top}" x2="${sx(tick)}" y2="${top + plotH}" stroke="#e3e3e3"/>`);
    body.push(
      `<text x="${sx(tick)}" y="${top + plotH + 16}" text-anchor="middle" ${FONT} font-size="11" fill="#444">${escapeXml(options.formatX(tick))}</text>`,
    );
  }
  body.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  body.push(
    `<text x="${left + plotW / 2}" y="${top + plotH + 36}" text-anchor="middle" ${FONT} font-size="12" fill="#222">${escapeXml(options.xLabel)}</text>`,
  );
  body.push(
    `<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" ${FONT} font-size="12" fill="#222">${escapeXml(options.yLabel)}</text>`,
  );
  for (const series of options.series) {
    const points = series.points.filter((p) => p.x > 0 && p.y > 0);
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    body.push(
      `<polyline points="${points.map((p) => `${sx(p.x)},${sy(p.y)}`).join(' ')}" fill="none" stroke="${series.color}" stroke-width="2.2"${dash}/>`,
    );
    for (const p of points) {
      body.push(
        `<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="4" fill="${series.color}"><title>${escapeXml(`${series.name}: ${options.formatY(p.y)} at ${options.formatX(p.x)}`)}</title></circle>`,
      );
      body.push(
        `<text x="${sx(p.x) + 7}" y="${sy(p.y) - 7}" ${FONT} font-size="10.5" fill="${series.color}">${escapeXml(options.formatY(p.y))}</text>`,
      );
    }
  }
  options.series.forEach((series, i) => {
    const y = top + plotH + 56 + i * 20;
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    body.push(`<line x1="${left}" y1="${y - 4}" x2="${left + 28}" y2="${y - 4}" stroke="${series.color}" stroke-width="2.2"${dash}/>`);
    body.push(`<text x="${left + 36}" y="${y}" ${FONT} font-size="12" fill="#222">${escapeXml(series.name)}</text>`);
  });
  return svg(width, height, options.title, body);
}

/** Horizontal bars from zero, the figure (and note) after each bar. */
export function horizontalBarChart(options: BarChartOptions): string {
  const width = 860;
  const labelW = 370;
  const valueW = 190;
  const barH = 26;
  const gap = 12;
  const top = 44;
  const plotW = width - labelW - valueW - 16;
  const maxValue = Math.max(...options.bars.map((b) => b.value), 1);
  const height = top + options.bars.length * (barH + gap) + (options.caption ? 30 : 12);
  const body: string[] = [];
  options.bars.forEach((bar, i) => {
    const y = top + i * (barH + gap);
    const w = round(Math.max(1, (bar.value / maxValue) * plotW));
    body.push(
      `<text x="${labelW - 8}" y="${y + barH / 2 + 4}" text-anchor="end" ${FONT} font-size="12" fill="#222">${escapeXml(bar.label)}</text>`,
    );
    body.push(
      `<rect x="${labelW}" y="${y}" width="${w}" height="${barH}" rx="3" fill="${bar.color}"><title>${escapeXml(`${bar.label}: ${Math.round(bar.value).toLocaleString('en-US')} ${options.unit}`)}</title></rect>`,
    );
    const figure = `${Math.round(bar.value).toLocaleString('en-US')} ${options.unit}${bar.note ? `  ${bar.note}` : ''}`;
    body.push(`<text x="${labelW + w + 6}" y="${y + barH / 2 + 4}" ${FONT} font-size="12" fill="#222">${escapeXml(figure)}</text>`);
  });
  if (options.caption) {
    body.push(
      `<text x="${width / 2}" y="${height - 10}" text-anchor="middle" ${FONT} font-size="11" fill="#555">${escapeXml(options.caption)}</text>`,
    );
  }
  return svg(width, height, options.title, body);
}
