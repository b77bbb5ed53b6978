import type Table from 'cli-table3';
import { createRequire } from 'node:module';
import { GamepipeError, ErrorCodes } from './errors.js';

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

type CellFormat = 'share' | 'change' | 'money' | 'ratio';

interface RenderableTable {
  name: string;
  title: string;
  columns: string[];
  rows: Array<Array<string | number | boolean | null>>;
  formats?: Array<CellFormat | undefined>;
}

/** A number as a table for people shows it: shares as percent, money in cents. */
function formatCell(v: unknown, f: CellFormat | undefined): unknown {
  if (typeof v !== 'number' || f === undefined) return v;
  switch (f) {
    case 'share':
      return `${(v * 100).toFixed(1)}%`;
    case 'change':
      return `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`;
    case 'money':
      return v.toFixed(2);
    case 'ratio':
      return v.toFixed(1);
  }
}

/** The rows as people read them (table, Markdown, HTML). */
function shownRows(t: RenderableTable): unknown[][] {
  return t.rows.map((row) => row.map((v, i) => formatCell(v, t.formats?.[i])));
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
  tables: RenderableTable[];
  data: Record<string, unknown>;
}

function datesLabel(dates: string[]): string {
  if (dates.length === 0) return 'no dates';
  return dates.length === 1
    ? (dates[0] as string)
    : `${dates[0]} .. ${dates[dates.length - 1]} (${dates.length} days)`;
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
            ? { report: reports[0]?.name, dates: reports[0]?.dates, ...reports[0]?.data }
            : Object.fromEntries(reports.map((r) => [r.name, { dates: r.dates, ...r.data }])),
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
              `## ${r.title}\n\n${r.question} — ${datesLabel(r.dates)}\n\n` +
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
              `${r.title} — ${datesLabel(r.dates)}\n${r.question}\n` +
              r.tables.map((t) => `${t.title}\n${table(t.columns, shownRows(t))}`).join('\n'),
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

function htmlPage(reports: RenderableReport[], charts: (r: RenderableReport) => string[]): string {
  const sections = reports
    .map(
      (r) =>
        `<section id="${escapeXml(r.name)}"><h2>${escapeXml(r.title)}</h2><p class="q">${escapeXml(r.question)} <span class="dates">${escapeXml(datesLabel(r.dates))}</span></p>` +
        `<div class="charts">${charts(r).join('')}</div>` +
        r.tables
          .map(
            (t) =>
              `<h3>${escapeXml(t.title)}</h3><table><thead><tr>${t.columns.map((c) => `<th>${escapeXml(c)}</th>`).join('')}</tr></thead><tbody>` +
              t.rows
                .map(
                  (row) =>
                    `<tr>${row.map((v, i) => `<td class="${typeof v === 'number' ? 'n' : ''}">${escapeXml(formatCell(v, t.formats?.[i]))}</td>`).join('')}</tr>`,
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
table{border-collapse:collapse;margin:.3rem 0 1rem}th,td{border:1px solid #ddd;padding:.25rem .6rem;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f5f5f5}
.chart{display:block;margin:.6rem 0;max-width:100%;height:auto}.chart text{font-family:inherit;fill:#333}
</style></head>
<body><h1>gamepipe report</h1><p class="q">Generated ${escapeXml(new Date().toISOString().slice(0, 16).replace('T', ' '))} UTC from the lake.</p><nav>${nav}</nav>
${sections}
</body></html>
`;
}
