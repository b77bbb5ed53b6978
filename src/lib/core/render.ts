import type Table from 'cli-table3';
import { createRequire } from 'node:module';
import { GamepipeError, ErrorCodes } from './errors.js';
import { formatMoney } from './money.js';

export type Format = 'table' | 'json';

export function parseFormat<T extends string>(value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new GamepipeError(ErrorCodes.usage, `unknown format ${value}`, {
      hint: `use --format ${allowed.join('|')}`,
    });
  }
  return value as T;
}

/** A terminal table; cells are stringified, empty for null/undefined. */
export function table(head: string[], rows: unknown[][]): string {
  // loaded on the first table, not by every `gamepipe --help`
  const TableClass = createRequire(import.meta.url)('cli-table3') as typeof Table;
  const t = new TableClass({ head, style: { head: [], border: [] } });
  for (const row of rows) t.push(row.map((c) => (c === undefined || c === null ? '' : String(c))));
  return t.toString();
}

/** The width tables must fit: the terminal's, else $COLUMNS, else none (a file or a pipe). */
export function outputWidth(
  stream: NodeJS.WriteStream = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): number {
  if (stream.isTTY && stream.columns > 0) return stream.columns;
  const c = Number(env.COLUMNS);
  return Number.isInteger(c) && c > 0 ? c : Infinity;
}

/**
 * A table that fits `width`: one table when it does; else its columns in parts, each part
 * repeating the first column (the row's key), each as wide as fits, titled "columns i-j of n".
 */
export function fitTable(head: string[], rows: unknown[][], width: number): string {
  const whole = table(head, rows);
  const widest = Math.max(...whole.split('\n').map((l) => l.length));
  if (widest <= width || head.length <= 2) return whole;
  const text = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
  // a column's width in the table: its longest cell, a space each side and a border
  const colW = head.map((h, i) => Math.max(h.length, ...rows.map((r) => text(r[i]).length)) + 3);
  const parts: number[][] = [];
  let part: number[] = [];
  let used = 1 + (colW[0] as number);
  for (let i = 1; i < head.length; i++) {
    if (part.length > 0 && used + (colW[i] as number) > width) {
      parts.push(part);
      part = [];
      used = 1 + (colW[0] as number);
    }
    part.push(i);
    used += colW[i] as number;
  }
  parts.push(part);
  return parts
    .map(
      (cols) =>
        `(columns ${(cols[0] as number) + 1}-${(cols.at(-1) as number) + 1} of ${head.length})\n` +
        table(
          [head[0] as string, ...cols.map((i) => head[i] as string)],
          rows.map((r) => [r[0], ...cols.map((i) => r[i])]),
        ),
    )
    .join('\n');
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** 1234 → "1.2s", 65000 → "1m 5s". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m ${Math.round((ms % 60_000) / 1000)}s`;
}

/** 1536 → "1.5 KiB". */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Permission bits as `hadoop fs -ls` prints them: "755" → "rwxr-xr-x". */
export function permissionString(octal: string, isDir: boolean): string {
  const bits = octal.padStart(3, '0').slice(-3);
  const rwx = [...bits]
    .map((d) => {
      const n = Number(d);
      return (n & 4 ? 'r' : '-') + (n & 2 ? 'w' : '-') + (n & 1 ? 'x' : '-');
    })
    .join('');
  return (isDir ? 'd' : '-') + rwx;
}

/** "2026-11-28 03:57" in UTC, like `hadoop fs -ls`. */
export function shortTime(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 16).replace('T', ' ');
}

/** Reports as tables, JSON, CSV, Markdown or one self-contained HTML page. */
export type ReportFormat = 'table' | 'json' | 'csv' | 'markdown' | 'html';

/**
 * How a cell reads in a table for people (CSV and JSON keep the value itself): shares and changes
 * as percent, ratios to 2 decimals, money with separators and its currency's decimals and code
 * (the currency in the row's column `money`), a partial day's flag as "partial"; other whole
 * numbers with thousands separators.
 */
export type CellFormat = 'share' | 'change' | 'ratio' | 'partial' | { money: number };

interface RenderableTable {
  name: string;
  title: string;
  columns: string[];
  rows: Array<Array<string | number | boolean | null>>;
  formats?: Array<CellFormat | undefined>;
  /** Rows to set apart: a drift day, a partial day. */
  marks?: Array<'drift' | 'partial' | undefined>;
}

function formatCell(v: unknown, f: CellFormat | undefined, row: readonly unknown[]): unknown {
  if (f === 'partial') return v === true ? 'partial' : '';
  if (typeof v !== 'number') return v;
  if (f === undefined) return Number.isInteger(v) ? v.toLocaleString('en-US') : v;
  if (typeof f === 'object') {
    const c = row[f.money];
    return formatMoney(v, typeof c === 'string' ? c : null);
  }
  switch (f) {
    case 'share':
      return `${(v * 100).toFixed(1)}%`;
    case 'change':
      return `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`;
    case 'ratio':
      return v.toFixed(2);
  }
}

/** The rows as people read them (table, Markdown, HTML). */
function shownRows(t: RenderableTable): unknown[][] {
  return t.rows.map((row) => row.map((v, i) => formatCell(v, t.formats?.[i], row)));
}

/**
 * The one table `--format csv` prints: the one named by --table, or the only one there is;
 * several and none named is GP_USAGE, listing their names.
 */
function csvTable(reports: RenderableReport[], name: string | undefined): RenderableTable {
  const tables = reports.flatMap((r) => r.tables);
  const names = tables.map((t) => t.name).join(', ');
  if (name !== undefined) {
    const t = tables.find((x) => x.name === name);
    if (!t)
      throw new GamepipeError(ErrorCodes.usage, `no table ${JSON.stringify(name)} in this report`, {
        hint: `its tables: ${names}`,
      });
    return t;
  }
  if (tables.length === 1) return tables[0] as RenderableTable;
  throw new GamepipeError(
    ErrorCodes.usage,
    `CSV holds one table and this report has ${tables.length}: ${names}`,
    { hint: `pick one with --table NAME, e.g. --table ${tables[0]?.name ?? ''}` },
  );
}

interface RenderableReport {
  name: string;
  title: string;
  question: string;
  dates: string[];
  partial?: string[];
  tables: RenderableTable[];
  data: Record<string, unknown>;
}

/** The range a report covers, and its partial days (still open when extracted), said. */
function datesLabel(r: { dates: string[]; partial?: string[] }): string {
  const { dates } = r;
  if (dates.length === 0) return 'no dates';
  const range =
    dates.length === 1
      ? (dates[0] as string)
      : `${dates[0]} .. ${dates[dates.length - 1]} (${dates.length} days)`;
  const partial = r.partial ?? [];
  return partial.length === 0
    ? range
    : `${range}; partial: ${partial.join(', ')} (still open when extracted)`;
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function mdCell(v: unknown): string {
  return (v === null || v === undefined ? '' : String(v)).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/**
 * Renders reports for the terminal or a file. CSV is one table (`table` names it when there are
 * several), its numbers as they are (shares 0..1). HTML needs `charts`, a function that draws a
 * report's charts.
 */
export function renderReports(
  reports: RenderableReport[],
  format: ReportFormat,
  charts: (r: RenderableReport) => string[] = () => [],
  { table: tableName }: { table?: string | undefined } = {},
): string {
  switch (format) {
    case 'json':
      return (
        json(
          reports.length === 1
            ? {
                report: reports[0]?.name,
                dates: reports[0]?.dates,
                partial: reports[0]?.partial ?? [],
                ...reports[0]?.data,
              }
            : Object.fromEntries(
                reports.map((r) => [
                  r.name,
                  { dates: r.dates, partial: r.partial ?? [], ...r.data },
                ]),
              ),
        ) + '\n'
      );
    case 'csv': {
      const t = csvTable(reports, tableName);
      return [t.columns, ...t.rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
    }
    case 'markdown':
      return (
        reports
          .map(
            (r) =>
              `## ${r.title}\n\n${r.question} — ${datesLabel(r)}\n\n` +
              r.tables
                .map(
                  (t) =>
                    `**${t.title}**\n\n| ${t.columns.map(mdCell).join(' | ')} |\n| ${t.columns.map((_, i) => (typeof t.rows[0]?.[i] === 'number' ? '---:' : '---')).join(' | ')} |\n` +
                    shownRows(t)
                      .map((row) => `| ${row.map(mdCell).join(' | ')} |`)
                      .join('\n'),
                )
                .join('\n\n'),
          )
          .join('\n\n') + '\n'
      );
    case 'table':
      return (
        reports
          .map(
            (r) =>
              `${r.title} — ${datesLabel(r)}\n${r.question}\n` +
              r.tables
                .map((t) => `${t.title}\n${fitTable(t.columns, shownRows(t), outputWidth())}`)
                .join('\n'),
          )
          .join('\n\n') + '\n'
      );
    case 'html':
      return htmlPage(reports, charts);
  }
}

/** Escapes text for HTML and SVG (the one escape of the reports). */
export function escapeXml(s: unknown): string {
  return String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/**
 * The page's one script, inline: a click on a column header sorts the table by it (numbers as
 * numbers, from each cell's data-v), and each table's CSV button downloads it as CSV (its raw
 * values). Nothing is fetched.
 */
const TABLE_SCRIPT = `
for (const table of document.querySelectorAll('table[data-name]')) {
  const ths = [...table.tHead.rows[0].cells];
  ths.forEach((th, i) => th.addEventListener('click', () => {
    const dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
    ths.forEach((h) => h.removeAttribute('aria-sort'));
    th.setAttribute('aria-sort', dir);
    const key = (tr) => tr.cells[i].dataset.v;
    const rows = [...table.tBodies[0].rows];
    const numeric = rows.every((tr) => key(tr) === '' || !Number.isNaN(Number(key(tr))));
    rows.sort((a, b) => {
      const x = key(a), y = key(b);
      const c = numeric ? (x === '' ? -Infinity : Number(x)) - (y === '' ? -Infinity : Number(y)) : x.localeCompare(y);
      return dir === 'ascending' ? c : -c;
    });
    table.tBodies[0].append(...rows);
  }));
  const button = table.previousElementSibling.querySelector('button.csv');
  button.addEventListener('click', () => {
    const cell = (s) => /[",\\n\\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
    const lines = [ths.map((th) => cell(th.textContent))]
      .concat([...table.tBodies[0].rows].map((tr) => [...tr.cells].map((td) => cell(td.dataset.v))))
      .map((r) => r.join(','));
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([lines.join('\\n') + '\\n'], { type: 'text/csv' }));
    a.download = table.dataset.name + '.csv';
    a.click();
    URL.revokeObjectURL(a.href);
  });
}
`;

function htmlPage(reports: RenderableReport[], charts: (r: RenderableReport) => string[]): string {
  const sections = reports
    .map(
      (r) =>
        `<section id="${escapeXml(r.name)}"><h2>${escapeXml(r.title)}</h2><p class="q">${escapeXml(r.question)} <span class="dates">${escapeXml(datesLabel(r))}</span></p>` +
        `<div class="charts">${charts(r).join('')}</div>` +
        r.tables
          .map(
            (t) =>
              `<h3>${escapeXml(t.title)} <button class="csv" type="button" title="download this table as CSV">CSV</button></h3><table data-name="${escapeXml(t.name)}"><thead><tr>${t.columns.map((c) => `<th title="sort">${escapeXml(c)}</th>`).join('')}</tr></thead><tbody>` +
              t.rows
                .map(
                  (row, r) =>
                    `<tr${t.marks?.[r] ? ` class="${t.marks[r]}"` : ''}>${row.map((v, i) => `<td class="${typeof v === 'number' ? 'n' : ''}" data-v="${escapeXml(v ?? '')}">${escapeXml(formatCell(v, t.formats?.[i], row))}</td>`).join('')}</tr>`,
                )
                .join('') +
              '</tbody></table>',
          )
          .join('') +
        '</section>',
    )
    .join('\n');
  const nav = reports
    .map((r) => `<a href="#${escapeXml(r.name)}">${escapeXml(r.title)}</a>`)
    .join(' · ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>gamepipe report</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:980px;padding:0 1rem;color:#222}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}h3{font-size:1rem;margin:1.2rem 0 .4rem}
.q{color:#555}.dates{color:#888;font-size:.9em;margin-left:.5em}nav{margin:.5rem 0 1rem}nav a{color:#4e79a7}
table{border-collapse:collapse;margin:.3rem 0 1rem}th,td{border:1px solid #ddd;padding:.25rem .6rem;text-align:left;white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f5f5f5;cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
tr.drift td{background:#fdecec}tr.partial td{color:#777;font-style:italic}button.csv{font-size:.7rem;margin-left:.5rem;cursor:pointer}
.chart{display:block;margin:.6rem 0;max-width:100%;height:auto}.chart text{font-family:inherit;fill:#333}
</style></head>
<body><h1>gamepipe report</h1><p class="q">Generated ${escapeXml(new Date().toISOString().slice(0, 16).replace('T', ' '))} UTC from the lake.</p><nav>${nav}</nav>
${sections}
<script>${TABLE_SCRIPT}</script>
</body></html>
`;
}
