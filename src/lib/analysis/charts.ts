import type { Chart } from './report.js';
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
];

function fmt(v: number, money = false): string {
  return money ? v.toFixed(2) : v.toLocaleString('en-US');
}

function legend(names: string[], x: number, y: number): string {
  return names
    .map(
      (n, i) =>
        `<g transform="translate(${x + (i % 4) * 150},${y + Math.floor(i / 4) * 18})"><rect width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/><text x="16" y="10" font-size="11">${escapeXml(n)}</text></g>`,
    )
    .join('');
}

function bars(c: Extract<Chart, { kind: 'bars' }>): string {
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
        `<rect class="bar" x="${labelW}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${PALETTE[0]}"><title>${escapeXml(label)}: ${fmt(c.values[i] as number, c.format === 'money')}</title></rect>` +
        `<text x="${labelW + w + 5}" y="${y + 14}" font-size="11">${fmt(c.values[i] as number, c.format === 'money')}</text>`
      );
    })
    .join('');
  return svg(c.title, width, h, body);
}

function stacked(c: Extract<Chart, { kind: 'stacked' }>): string {
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
      body += `<rect class="bar" x="${x.toFixed(1)}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${PALETTE[j % PALETTE.length]}"><title>${escapeXml(label)} · ${escapeXml(c.series[j] as string)}: ${fmt(v)}</title></rect>`;
      x += w;
    });
    body += `<text x="${x + 5}" y="${y + 15}" font-size="11">${fmt(totals[i] as number)}</text>`;
  });
  body += legend(c.series, labelW, top + c.labels.length * rowH + 8);
  return svg(c.title, width, h, body);
}

function lines(c: Extract<Chart, { kind: 'lines' }>): string {
  const width = 720;
  const plotH = 200;
  const left = 60;
  const top = 24;
  const right = 40;
  const n = c.labels.length;
  const max = Math.max(1, ...c.series.flatMap((s) => s.values));
  const x = (i: number): number =>
    left + (n <= 1 ? (width - left - right) / 2 : (i / (n - 1)) * (width - left - right));
  const y = (v: number): number => top + plotH - (v / max) * plotH;
  let body = `<line x1="${left}" y1="${top + plotH}" x2="${width - right}" y2="${top + plotH}" stroke="#999"/>`;
  body += `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#999"/>`;
  body += `<text x="${left - 6}" y="${top + 4}" text-anchor="end" font-size="10">${fmt(max)}</text><text x="${left - 6}" y="${top + plotH}" text-anchor="end" font-size="10">0</text>`;
  const step = Math.max(1, Math.ceil(n / 8));
  c.labels.forEach((l, i) => {
    if (i % step === 0 || i === n - 1)
      body += `<text x="${x(i)}" y="${top + plotH + 14}" text-anchor="middle" font-size="10">${escapeXml(l)}</text>`;
    if (c.flags?.[i]) {
      body += `<rect class="drift" x="${x(i) - 6}" y="${top}" width="12" height="${plotH}" fill="#e15759" opacity="0.15"><title>${escapeXml(l)}: the mix moved</title></rect>`;
    }
  });
  c.series.forEach((s, j) => {
    const color = PALETTE[j % PALETTE.length];
    const pts = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    body += `<polyline class="series" fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`;
    s.values.forEach((v, i) => {
      body += `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${color}"><title>${escapeXml(s.name)} ${escapeXml(c.labels[i] as string)}: ${fmt(v)}</title></circle>`;
    });
  });
  body += legend(
    c.series.map((s) => s.name),
    left,
    top + plotH + 26,
  );
  return svg(c.title, width, top + plotH + 34 + Math.ceil(c.series.length / 4) * 18, body);
}

function svg(title: string, width: number, height: number, body: string): string {
  return (
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">` +
    `<text x="0" y="14" font-size="13" font-weight="bold">${escapeXml(title)}</text>${body}</svg>`
  );
}

export function chartSvg(c: Chart): string {
  switch (c.kind) {
    case 'bars':
      return bars(c);
    case 'stacked':
      return stacked(c);
    case 'lines':
      return lines(c);
  }
}
