// The runner's command line.

import { parseArgs } from 'node:util';
import { parseDurationMs } from '../../src/core/units.js';

export interface RunOptions {
  readonly dirs: readonly string[];
  readonly report: string;
  readonly filter?: string;
  /** An already running cluster with Suture running: the runner starts neither. */
  readonly kubeconfig?: string;
  readonly keepGoing: boolean;
  readonly verbose: boolean;
  /** Start the control plane but not Suture: for the runner's self-test (test/scenarios/selftest) only. */
  readonly noSuture: boolean;
  /** How long to wait for Suture's objects to be ready after setup. */
  readonly readyTimeoutMs: number;
  /** Suture processes the runner starts, behind one loopback balancer (webhook served by all, one leader). */
  readonly replicas: number;
  /** Kill one replica (the leader if known) after the middle step of each scenario and start it again. */
  readonly restartMidway: boolean;
}

export const DEFAULT_DIRS = ['test/scenarios'] as const;
/** Matches .gitignore's `report*.json`. */
export const DEFAULT_REPORT = 'report-scenarios.json';

export const USAGE = `usage: npx tsx test/scenarios/run.ts [options] [dir|file ...]
  (default dirs: ${DEFAULT_DIRS.join(' ')})
  --filter <text>       run only scenarios whose name or file name contains <text>
  --kubeconfig <path>   use this running cluster, with Suture already running (start neither)
  --report <file>       JSON report (default ${DEFAULT_REPORT})
  --keep-going          run every scenario even after failures (default)
  --fail-fast           stop after the first scenario with a failed step
  --ready-timeout <d>   how long Suture's objects may take to be ready (default 30s)
  --replicas <n>        Suture processes to start behind one loopback balancer (default 1; make scenarios uses 2)
  --restart-midway      after the middle step of each scenario, kill one replica (the leader if known) and start it again
  --no-suture           start the control plane but not Suture (runner self-test; Suture scenarios then fail)
  --verbose             progress of the control plane and Suture on stderr
  --help`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseOptions(argv: readonly string[]): RunOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        filter: { type: 'string' },
        kubeconfig: { type: 'string' },
        report: { type: 'string' },
        'keep-going': { type: 'boolean' },
        'fail-fast': { type: 'boolean' },
        verbose: { type: 'boolean' },
        'no-suture': { type: 'boolean' },
        'ready-timeout': { type: 'string' },
        replicas: { type: 'string' },
        'restart-midway': { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help === true) return 'help';
  if (values['fail-fast'] === true && values['keep-going'] === true) throw new UsageError(`--keep-going and --fail-fast exclude each other\n${USAGE}`);
  if (values['no-suture'] === true && values.kubeconfig !== undefined) throw new UsageError(`--no-suture is for the runner's own control plane; with --kubeconfig the runner starts no Suture anyway\n${USAGE}`);
  const readyTimeoutMs = parseDurationMs(values['ready-timeout'] ?? '30s');
  if (readyTimeoutMs === undefined) throw new UsageError(`--ready-timeout takes a duration like 30s or 2m\n${USAGE}`);
  const replicas = Number(values.replicas ?? '1');
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new UsageError(`--replicas takes a whole number from 1 to 5, not ${values.replicas ?? ''}\n${USAGE}`);
  const restartMidway = values['restart-midway'] === true;
  if (restartMidway && (values.kubeconfig !== undefined || values['no-suture'] === true)) throw new UsageError(`--restart-midway restarts a Suture the runner started: not with --kubeconfig or --no-suture\n${USAGE}`);
  return {
    readyTimeoutMs,
    replicas,
    restartMidway,
    dirs: positionals.length > 0 ? positionals : [...DEFAULT_DIRS],
    report: values.report ?? DEFAULT_REPORT,
    filter: values.filter,
    kubeconfig: values.kubeconfig,
    keepGoing: values['fail-fast'] !== true,
    verbose: values.verbose === true,
    noSuture: values['no-suture'] === true,
  };
}
