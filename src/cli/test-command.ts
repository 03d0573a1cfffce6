// `kubectl suture test <path>...`: runs scenario files and GitOps test files (suture-test.yaml, test-file.ts) offline
// and prints the live runner's table (one row per step or request, then `N passed, N failed`), or with -o json|yaml
// the run's report, and optionally writes the JSON report. A folder holding suture-test.yaml files (at any depth) runs
// those; any other folder is a folder of scenario files. Exit status 1 on any failure, and on any file that does not
// parse (each problem is printed with its place).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { runScenarioOffline, type OfflineOptions } from './offline/run.js';
import { loadScenarios, ScenarioFormatError } from '../scenario/parse.js';
import { buildReport, countSteps, formatRow, headerRow, summaryLine, writeReport, type ScenarioReport } from '../scenario/report.js';
import { renderData, type DataFormat } from './output.js';
import { isTestDocument, parseTestFile, testFilesUnder, type TestFile } from './test-file.js';

export interface TestOptions extends OfflineOptions {
  /** Write the JSON report here. */
  readonly report?: string;
  /** text (the table, default), json or yaml (the report). */
  readonly output?: DataFormat;
}

export interface Printer {
  out(line: string): void;
  err(line: string): void;
}

/** A file that did not parse, as a report with one failed row, so it counts as a failure. */
function formatErrorReport(file: string, message: string, what: string): ScenarioReport {
  const row = { scenario: file, step: 0, description: 'parse', expected: 'valid', got: 'invalid', pass: false, message, reason: `the file does not follow the ${what} format`, durationMs: 0 };
  return { name: file, file, source: '', cleanupLeft: [], cleanupMs: 0, durationMs: 0, steps: [row] };
}

function isTestFile(path: string): boolean {
  if (!/\.ya?ml$/.test(path)) return false;
  try {
    return isTestDocument(parseYaml(readFileSync(path, 'utf8')));
  } catch {
    return false;
  }
}

/** Splits the arguments into GitOps test files and scenario paths. */
export function classifyPaths(paths: readonly string[]): { tests: string[]; scenarios: string[] } {
  const tests: string[] = [];
  const scenarios: string[] = [];
  for (const path of paths) {
    const found = statSync(path).isDirectory() ? testFilesUnder(path) : isTestFile(path) ? [path] : [];
    if (found.length > 0) tests.push(...found);
    else scenarios.push(path);
  }
  return { tests, scenarios };
}

/** Runs every request of a test file on its own; rows name the test and the request number. */
export function runTestFile(test: TestFile, options: OfflineOptions): ScenarioReport {
  const started = Date.now();
  const steps = test.requests.flatMap((request, i) =>
    runScenarioOffline(request.scenario, options).steps.map((row) => ({
      ...row,
      scenario: test.name,
      step: i + 1,
      description: request.description,
      reason: row.pass ? row.reason : `${request.description}: ${row.reason}`,
    })),
  );
  return { name: test.name, file: test.file, source: test.file, cleanupLeft: [], cleanupMs: 0, durationMs: Date.now() - started, steps };
}

function testReports(files: readonly string[], options: OfflineOptions, printer: Printer): ScenarioReport[] {
  return files.map((file) => {
    try {
      return runTestFile(parseTestFile(file), options);
    } catch (error) {
      if (!(error instanceof ScenarioFormatError)) throw error;
      printer.err(error.message);
      return formatErrorReport(file, error.message, 'test file');
    }
  });
}

/** Runs the scenarios and test files of `paths`; returns the exit status. */
export function runTestCommand(paths: readonly string[], options: TestOptions, printer: Printer): number {
  const missing = paths.filter((p) => !existsSync(p));
  for (const p of missing) printer.err(`${p}: no such file or directory`);
  if (missing.length > 0) return 1;
  const started = Date.now();
  const { tests, scenarios: scenarioPaths } = classifyPaths(paths);
  const { scenarios, errors } = loadScenarios(scenarioPaths);
  for (const e of errors) printer.err(e.message);
  const reports = [...errors.map((e) => formatErrorReport(e.file, e.message, 'scenario')), ...scenarios.map((s) => runScenarioOffline(s, options)), ...testReports(tests, options, printer)];
  const counts = countSteps(reports);
  const report = buildReport(reports, started, Date.now());
  if (options.output === 'json' || options.output === 'yaml') {
    for (const line of renderData(report, options.output)) printer.out(line);
  } else {
    printer.out(scenarioPaths.length === 0 ? headerRow().replace('SCENARIO', 'TEST    ') : headerRow());
    for (const r of reports) for (const row of r.steps) printer.out(formatRow(row));
    printer.out(summaryLine(counts));
  }
  if (options.report !== undefined) writeReport(options.report, report);
  return counts.failed > 0 ? 1 : 0;
}
