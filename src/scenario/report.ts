// The runner's output: one table row per step, the summary line, and the JSON report.

import { writeFileSync } from 'node:fs';

export interface StepRow {
  readonly scenario: string;
  /** 1-based; 0 for a file that did not parse (it has no steps to count). */
  readonly step: number;
  readonly description: string;
  readonly expected: string;
  readonly got: string;
  readonly pass: boolean;
  /** The denial or warning message, or what a check saw. */
  readonly message: string;
  /** Why it passed or failed, in words. */
  readonly reason: string;
  readonly durationMs: number;
}

export interface ScenarioReport {
  readonly name: string;
  readonly file: string;
  readonly source: string;
  readonly clock?: string;
  /** Set when the scenario could not be set up; its steps then failed with this reason. */
  readonly setupError?: string;
  /** Objects still present after cleanup (they may disturb the next scenarios). */
  readonly cleanupLeft: readonly string[];
  /** Time spent deleting the scenario's objects and awaiting their removal afterwards. */
  readonly cleanupMs: number;
  readonly durationMs: number;
  readonly steps: readonly StepRow[];
}

export interface RunReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly passed: number;
  readonly failed: number;
  readonly scenarios: readonly ScenarioReport[];
}

const WIDTHS = { scenario: 34, step: 4, expected: 12, got: 13, result: 4 } as const;
export const MESSAGE_WIDTH = 160;

/** One line, at most `width` characters, with an ellipsis when cut. */
export function trimText(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= width ? flat : `${flat.slice(0, Math.max(0, width - 1))}…`;
}

function cell(text: string, width: number): string {
  return trimText(text, width).padEnd(width);
}

export function headerRow(): string {
  return [cell('SCENARIO', WIDTHS.scenario), cell('STEP', WIDTHS.step), cell('EXPECTED', WIDTHS.expected), cell('GOT', WIDTHS.got), cell('', WIDTHS.result), 'MESSAGE'].join(' ');
}

/** The message column: on failure the reason first, then the message; on success the message (or the reason). */
export function messageColumn(row: StepRow): string {
  if (row.pass) return row.message === '' ? row.reason : row.message;
  return row.message === '' || row.reason.includes(row.message) ? row.reason : `${row.reason} — ${row.message}`;
}

export function formatRow(row: StepRow): string {
  const step = row.step === 0 ? '-' : String(row.step);
  return [
    cell(row.scenario, WIDTHS.scenario),
    cell(step, WIDTHS.step),
    cell(row.expected, WIDTHS.expected),
    cell(row.got, WIDTHS.got),
    cell(row.pass ? 'PASS' : 'FAIL', WIDTHS.result),
    trimText(messageColumn(row), MESSAGE_WIDTH),
  ].join(' ');
}

export interface Counts {
  readonly passed: number;
  readonly failed: number;
}

export function countSteps(scenarios: readonly ScenarioReport[]): Counts {
  const rows = scenarios.flatMap((s) => s.steps);
  const passed = rows.filter((r) => r.pass).length;
  return { passed, failed: rows.length - passed };
}

export function summaryLine(counts: Counts): string {
  return `${counts.passed} passed, ${counts.failed} failed`;
}

export function buildReport(scenarios: readonly ScenarioReport[], startedMs: number, finishedMs: number): RunReport {
  return {
    startedAt: new Date(startedMs).toISOString(),
    finishedAt: new Date(finishedMs).toISOString(),
    durationMs: finishedMs - startedMs,
    ...countSteps(scenarios),
    scenarios,
  };
}

export function writeReport(path: string, report: RunReport): void {
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}
