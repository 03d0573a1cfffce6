// The incident scenario runner (make scenarios): replays scenario files against a real control plane with Suture
// and prints one row per step, then `N passed, N failed` as the last line. Exit 0 only when every step passed.
//
//   npx tsx test/scenarios/run.ts [--filter x] [--kubeconfig path] [--report file] [dir|file ...]

import { basename } from 'node:path';
import type { Environment } from './environment.js';
import { attachToCluster, startEnvironment } from './environment.js';
import type { RunOptions } from './options.js';
import { parseOptions, USAGE, UsageError } from './options.js';
import type { ScenarioFormatError } from '../../src/scenario/parse.js';
import { loadScenarios } from '../../src/scenario/parse.js';
import { realTiming } from './poll.js';
import type { ScenarioReport } from '../../src/scenario/report.js';
import { buildReport, formatRow, headerRow, summaryLine, writeReport } from '../../src/scenario/report.js';
import type { RunnerDeps } from './runner.js';
import { runScenario } from './runner.js';
import { IdentityVerifier } from './steps.js';
import type { Scenario } from '../../src/scenario/model.js';

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** A file that does not parse is one failed row: it has no steps that could be counted. */
function formatErrorReport(error: ScenarioFormatError): ScenarioReport {
  const reason = error.problems.join('; ');
  const step = { scenario: basename(error.file), step: 0, description: 'parse', expected: 'valid file', got: 'invalid', pass: false, message: '', reason, durationMs: 0 };
  return { name: basename(error.file), file: error.file, source: '', setupError: error.message, cleanupLeft: [], cleanupMs: 0, durationMs: 0, steps: [step] };
}

function selected(scenarios: readonly Scenario[], filter: string | undefined): Scenario[] {
  if (filter === undefined) return [...scenarios];
  return scenarios.filter((s) => s.name.includes(filter) || basename(s.file).includes(filter));
}

async function runAll(env: Environment, scenarios: readonly Scenario[], options: RunOptions): Promise<ScenarioReport[]> {
  const deps: RunnerDeps = { ...env, timing: realTiming, wallClock: Date.now, verifier: new IdentityVerifier(env), print, log, sutureReadyTimeoutMs: options.readyTimeoutMs, restartMidway: options.restartMidway };
  const reports: ScenarioReport[] = [];
  for (const scenario of scenarios) {
    const report = await runScenario(deps, scenario);
    reports.push(report);
    if (!options.keepGoing && report.steps.some((s) => !s.pass)) {
      log(`--fail-fast: stopping after ${scenario.name}`);
      break;
    }
  }
  return reports;
}

async function main(argv: readonly string[]): Promise<number> {
  const options = parseOptions(argv);
  if (options === 'help') {
    print(USAGE);
    return 0;
  }
  const startedMs = Date.now();
  const { scenarios, errors } = loadScenarios(options.dirs);
  const chosen = selected(scenarios, options.filter);
  const reports = errors.map(formatErrorReport);
  print(headerRow());
  for (const report of reports) for (const row of report.steps) print(formatRow(row));
  if (chosen.length === 0) log(`no scenario to run in ${options.dirs.join(' ')}${options.filter === undefined ? '' : ` matching "${options.filter}"`}`);
  if (chosen.length > 0) {
    const env = options.kubeconfig === undefined ? await startEnvironment({ log, progress: options.verbose ? log : () => undefined, withoutSuture: options.noSuture, replicas: options.replicas }) : attachToCluster(options.kubeconfig);
    try {
      reports.push(...(await runAll(env, chosen, options)));
    } finally {
      await env.stop();
    }
  }
  const report = buildReport(reports, startedMs, Date.now());
  writeReport(options.report, report);
  log(`report written to ${options.report}`);
  print(summaryLine(report));
  return report.failed === 0 && chosen.length > 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(error instanceof UsageError ? error.message : `scenario runner failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(2);
  },
);
