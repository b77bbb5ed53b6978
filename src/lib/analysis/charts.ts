import type { Chart } from './report.js';
import { formatMoney } from '../core/money.js';
import { escapeXml } from '../core/render.js';

/** Inline SVG charts for the HTML report: no script, no CDN, no network. */

const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
  // then their lighter and darker kin (Tableau 20), for pages with many categories
  '#a0cbe8',
  '#ffbe7d',
  '#8cd17d',
  '#b6992d',
  '#499894',
  '#86bcb6',
  '#d37295',
  '#fabfd2',
  '#79706e',
  '#d4a6c8',
];

/**
 * One colour per category (event type, provider, series) across a whole page: the first chart
 * that names a category gives it the next colour, and every later chart uses the same, so a
 * legend means the same thing everywhere.
 */
export class ColorMap {
  private readonly colors = new Map<string, string>();

  colorOf(name: string): string {
    let c = this.colors.get(name);
    if (c === undefined) {
      c = PALETTE[this.colors.size % PALETTE.length] as string;
      this.colors.set(name, c);
    }
    return c;
  }
}

function fmt(v: number, money = false, currency: string | null = null): string {
  return money ? formatMoney(v, currency) : v.toLocaleString('en-US');
}

/** About `count` round tick values from 0 to at least `max` (1, 2, 2.5 or 5 times a power of 10). */
export function ticks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * p >= raw) ?? 10) * p;
  const out: number[] = [];
  for (let v = 0; v < max + step / 2; v += step) out.push(Math.round(v * 1e9) / 1e9);
  if ((out.at(-1) as number) < max) out.push((out.at(-1) as number) + step);
  return out;
}

function legend(names: string[], x: number, y: number, colors: ColorMap): string {
  return names
    .map(
      (n, i) =>
        `<g transform="translate(${x + (i % 4) * 150},${y + Math.floor(i / 4) * 18})"><rect width="12" height="12" fill="${colors.colorOf(n)}"/><text x="16" y="10" font-size="11">${escapeXml(n)}</text></g>`,
    )
    .join('');
}

function bars(c: Extract<Chart, { kind: 'bars' }>, colors: ColorMap): string {
  const rowH = 22;
  const labelW = 170;
  const width = 720;
  const max = Math.max(1, ...c.values);
  const h = c.labels.length * rowH + 30;
  const body = c.labels
    .map((label, i) => {
      const w = ((c.values[i] as number) / max) * (width - labelW - 90);
      const y = 24 + i * rowH;
      return (
        `<text x="${labelW - 6}" y="${y + 14}" text-anchor="end" font-size="12">${escapeXml(label)}</text>` +
        `<rect class="bar" data-label="${escapeXml(label)}" data-value="${c.values[i] as number}" x="${labelW}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${colors.colorOf(label)}"><title>${escapeXml(label)}: ${fmt(c.values[i] as number, c.format === 'money', c.currency ?? null)}</title></rect>` +
        `<text x="${labelW + w + 5}" y="${y + 14}" font-size="11">${fmt(c.values[i] as number, c.format === 'money', c.currency ?? null)}</text>`
      );
    })
    .join('');
  return svg(c.title, width, h, body);
}

function stacked(c: Extract<Chart, { kind: 'stacked' }>, colors: ColorMap): string {
  const rowH = 24;
  const labelW = 110;
  const width = 720;
  const totals = c.values.map((row) => row.reduce((s, v) => s + v, 0));
  const max = Math.max(1, ...totals);
  const top = 24;
  const h = top + c.labels.length * rowH + 20 + Math.ceil(c.series.length / 4) * 18;
  let body = '';
  c.labels.forEach((label, i) => {
    const y = top + i * rowH;
    body += `<text x="${labelW - 6}" y="${y + 15}" text-anchor="end" font-size="12">${escapeXml(label)}</text>`;
    let x = labelW;
    (c.values[i] as number[]).forEach((v, j) => {
      const w = (v / max) * (width - labelW - 70);
      body += `<rect class="bar" x="${x.toFixed(1)}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${colors.colorOf(c.series[j] as string)}"><title>${escapeXml(label)} · ${escapeXml(c.series[j] as string)}: ${fmt(v)}</title></rect>`;
      x += w;
    });
    body += `<text x="${x + 5}" y="${y + 15}" font-size="11">${fmt(totals[i] as number)}</text>`;
  });
  body += legend(c.series, labelW, top + c.labels.length * rowH + 8, colors);
  return svg(c.title, width, h, body);
}

/**
 * Series over days: a y-axis with round ticks and light gridlines, dates along the x-axis, drift
 * days shaded red and partial days (still open when extracted) hatched grey; one day alone is
 * drawn as bars, since a line of one point is a dot.
 */
function lines(c: Extract<Chart, { kind: 'lines' }>, colors: ColorMap): string {
  const width = 720;
  const plotH = 200;
  const left = 70;
  const top = 24;
  const right = 40;
  const n = c.labels.length;
  const scale = ticks(
    Math.max(0, ...c.series.flatMap((s) => s.values.filter((v): v is number => v !== null))),
  );
  const max = scale.at(-1) as number;
  const y = (v: number): number => top + plotH - (v / max) * plotH;
  let body = '';
  for (const t of scale) {
    body += `<line class="grid" x1="${left}" y1="${y(t).toFixed(1)}" x2="${width - right}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/>`;
    body += `<text x="${left - 6}" y="${(y(t) + 3).toFixed(1)}" text-anchor="end" font-size="10">${fmt(t)}</text>`;
  }
  body += `<line x1="${left}" y1="${top + plotH}" x2="${width - right}" y2="${top + plotH}" stroke="#999"/>`;
  body += `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#999"/>`;
  const slot = (width - left - right) / Math.max(1, n);
  const x = (i: number): number => (n <= 1 ? left + slot / 2 : left + slot / 2 + i * slot);
  const step = Math.max(1, Math.ceil(n / 8));
  body +=
    '<defs><pattern id="partial" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="2"/></pattern></defs>';
  c.labels.forEach((l, i) => {
    if (i % step === 0 || i === n - 1)
      body += `<text x="${x(i).toFixed(1)}" y="${top + plotH + 14}" text-anchor="middle" font-size="10">${escapeXml(l)}${c.partial?.[i] ? ' (partial)' : ''}</text>`;
    if (c.flags?.[i]) {
      body += `<rect class="drift" x="${(x(i) - slot / 2).toFixed(1)}" y="${top}" width="${slot.toFixed(1)}" height="${plotH}" fill="#e15759" opacity="0.15"><title>${escapeXml(l)}: the mix moved</title></rect>`;
    }
    if (c.partial?.[i]) {
      body += `<rect class="partial" x="${(x(i) - slot / 2).toFixed(1)}" y="${top}" width="${slot.toFixed(1)}" height="${plotH}" fill="url(#partial)" opacity="0.35"><title>${escapeXml(l)}: a partial day (still open when extracted)</title></rect>`;
    }
  });
  if (n === 1) {
    // one day: a bar per series
    const w = Math.min(60, (slot * 0.8) / c.series.length);
    c.series.forEach((s, j) => {
      const v = s.values[0];
      if (v === null || v === undefined) return;
      const bx = x(0) - (w * c.series.length) / 2 + j * w;
      body += `<rect class="bar" data-label="${escapeXml(s.name)}" data-value="${v}" x="${bx.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(w - 2).toFixed(1)}" height="${(top + plotH - y(v)).toFixed(1)}" fill="${colors.colorOf(s.name)}"><title>${escapeXml(s.name)} ${escapeXml(c.labels[0] as string)}: ${fmt(v)}</title></rect>`;
    });
  } else {
    c.series.forEach((s) => {
      const color = colors.colorOf(s.name);
      // a null breaks the line: a day without the figure is a gap, not a 0
      const runs: string[][] = [[]];
      s.values.forEach((v, i) => {
        if (v === null) runs.push([]);
        else runs[runs.length - 1]?.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
      });
      for (const pts of runs.filter((r) => r.length > 1))
        body += `<polyline class="series" fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`;
      s.values.forEach((v, i) => {
        if (v === null) return;
        body += `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${color}"><title>${escapeXml(s.name)} ${escapeXml(c.labels[i] as string)}: ${fmt(v)}</title></circle>`;
      });
    });
  }
  body += legend(
    c.series.map((s) => s.name),
    left,
    top + plotH + 26,
    colors,
  );
  return svg(c.title, width, top + plotH + 34 + Math.ceil(c.series.length / 4) * 18, body);
}

function svg(title: string, width: number, height: number, body: string): string {
  return (
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">` +
    `<text x="0" y="14" font-size="13" font-weight="bold">${escapeXml(title)}</text>${body}</svg>`
  );
}

/** A chart as inline SVG; `colors` is shared by every chart of a page. */
export function chartSvg(c: Chart, colors: ColorMap = new ColorMap()): string {
  switch (c.kind) {
    case 'bars':
      return bars(c, colors);
    case 'stacked':
      return stacked(c, colors);
    case 'lines':
      return lines(c, colors);
  }
}
