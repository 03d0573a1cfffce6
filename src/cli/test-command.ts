// `kubectl suture test <dir|file>...`: loads scenario files, runs each offline, prints the live runner's table (one
// row per step, then `N passed, N failed`) and optionally its JSON report. Exit status 1 on any failure, and on any
// file that does not parse (each problem is printed with its place).
import { existsSync } from 'node:fs';
import { runScenarioOffline, type OfflineOptions } from './offline/run.js';
import { loadScenarios } from '../scenario/parse.js';
import { buildReport, countSteps, formatRow, headerRow, summaryLine, writeReport, type ScenarioReport } from '../scenario/report.js';

export interface TestOptions extends OfflineOptions {
  /** Write the JSON report here. */
  readonly report?: string;
}

export interface Printer {
  out(line: string): void;
  err(line: string): void;
}

/** A file that did not parse, as a report with one failed row, so it counts as a failure. */
function formatErrorReport(file: string, message: string): ScenarioReport {
  const row = { scenario: file, step: 0, description: 'parse', expected: 'valid', got: 'invalid', pass: false, message, reason: 'the file does not follow the scenario format', durationMs: 0 };
  return { name: file, file, source: '', cleanupLeft: [], cleanupMs: 0, durationMs: 0, steps: [row] };
}

/** Runs the scenarios of `paths`; returns the exit status. */
export function runTestCommand(paths: readonly string[], options: TestOptions, printer: Printer): number {
  const missing = paths.filter((p) => !existsSync(p));
  for (const p of missing) printer.err(`${p}: no such file or directory`);
  if (missing.length > 0) return 1;
  const started = Date.now();
  const { scenarios, errors } = loadScenarios(paths);
  for (const e of errors) printer.err(e.message);
  const reports = [...errors.map((e) => formatErrorReport(e.file, e.message)), ...scenarios.map((s) => runScenarioOffline(s, options))];
  printer.out(headerRow());
  for (const r of reports) for (const row of r.steps) printer.out(formatRow(row));
  const counts = countSteps(reports);
  printer.out(summaryLine(counts));
  if (options.report !== undefined) writeReport(options.report, buildReport(reports, started, Date.now()));
  return counts.failed > 0 ? 1 : 0;
}
