// Output formats shared by every `kubectl suture` command, with kubectl's conventions: a table by default (upper-case
// headers, columns three spaces apart (tabwriter padding 3), `<none>` for an empty cell), `-o wide` for more columns, `-o json` and `-o yaml`
// for machines (the same data in both). Pure: the commands hand rows and data in and print the lines.
import { stringify } from 'yaml';

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
/** Formats of commands without a wide table. */
export const DATA_FORMATS = ['text', 'json', 'yaml'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

/** What kubectl prints for an empty cell. */
export const NONE = '<none>';

/** A table as kubectl prints one: each column as wide as its widest cell, three spaces between columns. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const cells = rows.map((row) => headers.map((_, i) => (row[i] === undefined || row[i] === '' ? NONE : (row[i] ?? NONE))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...cells.map(line)];
}

/** JSON (two-space indent) or YAML of the same value, as lines. */
export function renderData(value: unknown, format: 'json' | 'yaml'): string[] {
  const text = format === 'json' ? JSON.stringify(value, null, 2) : stringify(value, { lineWidth: 0 }).replace(/\n$/, '');
  return text.split('\n');
}

/** True for the machine formats. */
export function isData(format: string): format is 'json' | 'yaml' {
  return format === 'json' || format === 'yaml';
}

/** A kubectl-style `List` of items (what `-o json|yaml` prints for a list command). */
export function listOf(kind: string, items: readonly unknown[]): { apiVersion: string; kind: string; items: readonly unknown[] } {
  return { apiVersion: 'cli.suture.dev/v1alpha1', kind, items };
}

/** Age as kubectl prints it: 45s, 12m, 3h, 5d (from RFC 3339 and the current time in ms). */
export function age(since: string | undefined, now: number): string {
  if (since === undefined) return NONE;
  const ms = now - Date.parse(since);
  if (!Number.isFinite(ms)) return NONE;
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
