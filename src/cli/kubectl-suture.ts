#!/usr/bin/env node
// `kubectl suture` (a kubectl plugin: the binary kubectl-suture on the PATH): test policies offline (GitOps test files
// and scenario files), explain a decision by its id, ask the live cluster what Suture would say about a manifest, show
// who owns what (leases) and what operators may do beyond their leases (audit), print the version. This module
// parses arguments (commander) and is, with main.ts and config.ts, one of the modules that read argv and the
// environment; what each command does is in actions.ts.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { enableLinearRegExp } from '../runtime/regexp.js';
import { parseInstant } from '../scenario/duration.js';
import { realActions, type Actions, type AuditOptions, type LeasesOptions, type ManifestOptions, type RecordOptions } from './actions.js';
import { GRAPH_FORMATS, type GraphFormat } from './leases.js';
import { DATA_FORMATS, type DataFormat } from './output.js';
import type { Printer } from './test-command.js';
import { WHAT_IF_VERBS, type WhatIfVerb } from './what-if.js';

const EXAMPLES = `
Examples:
  # Test a GitOps repository's policies offline (no cluster), like kyverno test / gator verify: every
  # suture-test.yaml under the folder; exit 1 when a request does not get the expected verdict
  kubectl suture test ./examples/gitops-repo

  # Who owns what, in every namespace; the queue of leases waiting behind granted ones; as a Mermaid graph
  kubectl suture leases -A
  kubectl suture leases -A --graph mermaid

  # What each lease holder may do beyond its leases, dangerous rights first; fail CI on a dangerous excess
  kubectl suture audit -A --fail-on dangerous

  # Show the record of a decision (the id is in every denial and warning: "[decision <id>]")
  kubectl suture explain 3f6c1e0a-5b7d-4d1e-9a55-2c8f0e1b7a44

  # Would this service account be allowed to delete what the manifest names? Nothing is changed (dryRun=All).
  kubectl suture explain -f pvc.yaml --as system:serviceaccount:zk:zookeeper-operator --verb delete
`;

/** Exit status of a usage error (1 is taken: a failed test step, a denial). */
const USAGE_ERROR = 2;

/** Parsed options as commander hands them to the actions. */
interface ExplainFlags {
  filename?: string;
  as?: string;
  asGroup: string[];
  verb: WhatIfVerb;
  namespace?: string;
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  server?: string;
  certificateAuthority?: string;
  insecureSkipTlsVerify?: boolean;
  sutureNamespace: string;
  service: string;
  output: DataFormat;
  kubeconfig?: string;
  context?: string;
}

interface ListFlags {
  namespace?: string;
  allNamespaces?: boolean;
  output?: 'wide' | 'json' | 'yaml';
  graph?: GraphFormat;
  failOn?: 'dangerous' | 'any';
  kubeconfig?: string;
  context?: string;
}

function instant(value: string): number {
  const ms = parseInstant(value);
  if (ms === undefined) throw new InvalidArgumentError('expected an RFC 3339 time such as 2026-11-23T09:45:00Z');
  return ms;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function connection(flags: { kubeconfig?: string | undefined; context?: string | undefined }): { kubeconfig?: string; context?: string } {
  return { ...(flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig }), ...(flags.context === undefined ? {} : { context: flags.context }) };
}

/** Options of `explain <id>`. */
export function recordOptions(flags: ExplainFlags): RecordOptions {
  return {
    ...connection(flags),
    ...(flags.server === undefined ? {} : { server: flags.server }),
    ...(flags.certificateAuthority === undefined ? {} : { certificateAuthority: flags.certificateAuthority }),
    insecureSkipTlsVerify: flags.insecureSkipTlsVerify === true,
    sutureNamespace: flags.sutureNamespace,
    service: flags.service,
    output: flags.output,
  };
}

/** Options of `explain -f`; throws the usage error when --as is missing. */
export function manifestOptions(file: string, flags: ExplainFlags): ManifestOptions {
  if (flags.as === undefined) throw new InvalidArgumentError('explain -f needs --as <subject> (a user or system:serviceaccount:<namespace>:<name>)');
  return {
    ...connection(flags),
    file,
    as: flags.as,
    asGroups: flags.asGroup,
    verb: flags.verb,
    ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
    ...(flags.propagationPolicy === undefined ? {} : { propagationPolicy: flags.propagationPolicy }),
    output: flags.output,
  };
}

function namespaceOptions(flags: ListFlags): Pick<LeasesOptions, 'namespace' | 'allNamespaces' | 'kubeconfig' | 'context'> {
  if (flags.allNamespaces === true && flags.namespace !== undefined) throw new InvalidArgumentError('give -n <namespace> or -A, not both');
  return { ...connection(flags), ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }), allNamespaces: flags.allNamespaces === true };
}

/** Options of `leases`. */
export function leasesOptions(flags: ListFlags): LeasesOptions {
  if (flags.graph !== undefined && flags.output !== undefined) throw new InvalidArgumentError('--graph prints a graph; drop -o, or drop --graph for a table or data');
  return { ...namespaceOptions(flags), ...(flags.output === undefined ? {} : { output: flags.output }), ...(flags.graph === undefined ? {} : { graph: flags.graph }) };
}

/** Options of `audit`. */
export function auditOptions(identities: readonly string[], flags: ListFlags): AuditOptions {
  return { ...namespaceOptions(flags), identities, ...(flags.output === undefined ? {} : { output: flags.output }), ...(flags.failOn === undefined ? {} : { failOn: flags.failOn }) };
}

/** Runs an action; a usage error (InvalidArgumentError) it throws ends with status 2 and the message. */
async function usage(command: Command, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    command.error(`error: ${error.message}`, { exitCode: USAGE_ERROR, code: 'suture.usage' });
  }
}

function outputOption(description: string, choices: readonly string[]): Option {
  return new Option('-o, --output <format>', description).choices(choices);
}

function clusterOptions(command: Command): Command {
  return command
    .option('-n, --namespace <namespace>', 'leases in this namespace (default: the context\'s namespace, else default)')
    .option('-A, --all-namespaces', 'leases in every namespace')
    .option('--kubeconfig <path>', 'kubeconfig (default: $KUBECONFIG, else ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context');
}

/** Which explain was asked for, or the usage error. */
function explainMode(id: string | undefined, flags: ExplainFlags): 'record' | 'manifest' {
  if (id !== undefined && flags.filename !== undefined) throw new InvalidArgumentError('give a decision id or -f <manifest>, not both');
  if (id === undefined && flags.filename === undefined) throw new InvalidArgumentError('give a decision id, or -f <manifest> with --as <subject>');
  if (flags.filename !== undefined && flags.server !== undefined) throw new InvalidArgumentError('--server is for explain <id>; explain -f asks the API server');
  return id !== undefined ? 'record' : 'manifest';
}

function addTest(program: Command, actions: Actions, done: (code: number) => void): void {
  program
    .command('test')
    .description('test policies offline (no API server): GitOps test files (suture-test.yaml: policy files, fixtures, requests with expected verdicts) and scenario files')
    .argument('<paths...>', 'suture-test.yaml files, folders holding them (at any depth), scenario files or folders of them')
    .option('--now <time>', 'the instant taken as "now" by files without a clock (default: the current time)', instant)
    .option('--report <file>', 'also write the JSON report the live scenario runner writes')
    .addOption(outputOption('json or yaml: print the report instead of the table', ['json', 'yaml']))
    .action(async (paths: string[], flags: { now?: number; report?: string; output?: 'json' | 'yaml' }) => {
      const options = { ...(flags.now === undefined ? {} : { now: flags.now }), ...(flags.report === undefined ? {} : { report: flags.report }), ...(flags.output === undefined ? {} : { output: flags.output }) };
      done(await actions.test(paths, options));
    });
}

function addExplain(program: Command, actions: Actions, done: (code: number) => void): void {
  program
    .command('explain')
    .description('show the record of a decision by its id, or ask the live cluster (dry run) what Suture would decide about a manifest')
    .argument('[decision-id]', 'the id in "[decision <id>]" of a denial or warning')
    .option('-f, --filename <file>', 'manifest to ask about (YAML or JSON, several documents allowed)')
    .option('--as <subject>', 'the identity to ask as: a user or system:serviceaccount:<namespace>:<name>')
    .option('--as-group <group>', 'a group of --as besides those Kubernetes gives it (repeatable)', collect, [])
    .addOption(new Option('--verb <verb>', 'what to do with the manifest').choices(WHAT_IF_VERBS).default('create'))
    .option('-n, --namespace <namespace>', 'namespace for objects that name none (default: the context\'s, else default)')
    .addOption(new Option('--propagation-policy <policy>', 'for --verb delete').choices(['Background', 'Foreground', 'Orphan']))
    .option('--server <url>', 'ask this Suture replica directly, e.g. https://127.0.0.1:9443 (default: through the API server)')
    .option('--certificate-authority <file>', 'CA of Suture\'s serving certificate, with --server')
    .option('--insecure-skip-tls-verify', 'do not verify Suture\'s certificate, with --server (implied for loopback addresses)')
    .option('--suture-namespace <namespace>', 'Suture\'s namespace', 'suture-system')
    .option('--service <name>', 'Suture\'s webhook Service', 'suture-webhook')
    .addOption(new Option('-o, --output <format>', 'text, or the record (the answers with -f) as json or yaml').choices(DATA_FORMATS).default('text'))
    .option('--kubeconfig <path>', 'kubeconfig (default: $KUBECONFIG, else ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .action(async (id: string | undefined, flags: ExplainFlags, command: Command) =>
      usage(command, async () => {
        const mode = explainMode(id, flags);
        done(mode === 'record' ? await actions.explainRecord(id ?? '', recordOptions(flags)) : await actions.explainManifest(manifestOptions(flags.filename ?? '', flags)));
      }),
    );
}

function addLeases(program: Command, actions: Actions, done: (code: number) => void): void {
  clusterOptions(
    program
      .command('leases')
      .description('who owns what: SutureLeases with holder, resources, fields, phase, conflicts and the queue waiting behind granted leases')
      .addOption(outputOption('wide (more columns), json or yaml', ['wide', 'json', 'yaml']))
      .addOption(new Option('--graph <format>', 'print holders, leases, scopes and who waits for whom as a graph').choices(GRAPH_FORMATS)),
  ).action(async (flags: ListFlags, command: Command) => usage(command, async () => done(await actions.leases(leasesOptions(flags)))));
}

function addAudit(program: Command, actions: Actions, done: (code: number) => void): void {
  clusterOptions(
    program
      .command('audit')
      .description('per lease holder: effective RBAC, what its leases need, and the excess with the binding that grants it, dangerous rights first')
      .argument('[identities...]', 'identities to audit (system:serviceaccount:<ns>:<name>, a user, group:<name>); default: the holders of the leases in scope')
      .addOption(outputOption('wide (also the effective RBAC and the needs), json or yaml', ['wide', 'json', 'yaml']))
      .addOption(new Option('--fail-on <what>', 'exit 1 when an identity has dangerous excess rights, or any').choices(['dangerous', 'any'])),
  ).action(async (identities: string[], flags: ListFlags, command: Command) => usage(command, async () => done(await actions.audit(auditOptions(identities, flags)))));
}

/** The program; `done` receives each command's exit status. Usage errors and --help throw a CommanderError. */
export function buildProgram(actions: Actions, printer: Printer, done: (code: number) => void): Command {
  const program = new Command('kubectl-suture')
    .description('Suture: test policies offline, explain decisions, ask the cluster what Suture would decide, show lease ownership and audit operators\' rights')
    .addHelpText('after', EXAMPLES)
    .configureOutput({ writeOut: (s) => printer.out(s.replace(/\n$/, '')), writeErr: (s) => printer.err(s.replace(/\n$/, '')) })
    .showHelpAfterError('(run kubectl suture --help for usage)')
    // Errors and --help throw instead of exiting, so main() decides the exit status; set before the subcommands,
    // which inherit it.
    .exitOverride();
  addTest(program, actions, done);
  addExplain(program, actions, done);
  addLeases(program, actions, done);
  addAudit(program, actions, done);
  program
    .command('version')
    .description('print the version of kubectl-suture and the API it speaks')
    .addOption(outputOption('json or yaml', ['json', 'yaml']))
    .action(async (flags: { output?: 'json' | 'yaml' }) => done(await actions.version(flags.output ?? 'text')));
  return program;
}

/** Runs the CLI on `args` (without node and the script); resolves with the exit status. */
export async function main(args: readonly string[], printer: Printer, actions: Actions = realActions(printer)): Promise<number> {
  let code = 0;
  const program = buildProgram(actions, printer, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...args], { from: 'user' });
    return code;
  } catch (error) {
    // --help and --version end with 0; every usage error (unknown command or option, bad value) with 2.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_ERROR;
    throw error;
  }
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  // `kubectl suture leases -A | head`: a closed pipe ends the program quietly, as it does kubectl.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  enableLinearRegExp();
  const printer: Printer = { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`) };
  main(process.argv.slice(2), printer).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`kubectl-suture: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
