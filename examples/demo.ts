// make demo: a guided tour on a real, local control plane. Each step prints a banner and runs; the control plane is
// stopped at the end whatever happens. To extend the tour (install the CRDs, start Suture, run a misbehaving
// operator), add steps to `steps`.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findBinaries } from '../test/controlplane/binaries.js';
import type { ControlPlane } from '../test/controlplane/harness.js';
import { startControlPlane } from '../test/controlplane/harness.js';

const run = promisify(execFile);

/** What steps share: the binaries, and the control plane once started. */
interface Demo {
  binDir: string;
  controlPlane?: ControlPlane;
}

interface Step {
  readonly title: string;
  run(demo: Demo): Promise<void>;
}

function started(demo: Demo): ControlPlane {
  if (demo.controlPlane === undefined) throw new Error('the control plane is not started: the start step must come first');
  return demo.controlPlane;
}

/** Runs the built kubectl against the demo's control plane and returns its stdout. */
async function kubectl(demo: Demo, args: readonly string[]): Promise<string> {
  const cp = started(demo);
  const { stdout } = await run(join(cp.binDir, 'kubectl'), ['--kubeconfig', cp.kubeconfigPath, ...args]);
  return stdout;
}

function show(command: string, output: string, maxLines = Infinity): void {
  console.log(`$ ${command}`);
  console.log(output.trimEnd().split('\n').slice(0, maxLines).join('\n'));
}

const steps: readonly Step[] = [
  {
    title: 'Build (first time only) or reuse etcd, kube-apiserver, kube-controller-manager and kubectl',
    run: async (demo) => {
      demo.binDir = await findBinaries(process.env.SUTURE_CONTROLPLANE_BIN, (line) => console.log(line));
      console.log(`binaries in ${demo.binDir}`);
    },
  },
  {
    title: 'Start the control plane (fresh PKI, etcd, kube-apiserver, kube-controller-manager)',
    run: async (demo) => {
      demo.controlPlane = await startControlPlane({ binDir: demo.binDir, log: (line) => console.log(line) });
      console.log(`kubeconfig: ${demo.controlPlane.kubeconfigPath}`);
    },
  },
  {
    title: 'kubectl talks to it',
    run: async (demo) => show('kubectl version', await kubectl(demo, ['version'])),
  },
  {
    title: 'The built-in namespaces exist',
    run: async (demo) => show('kubectl get namespaces', await kubectl(demo, ['get', 'namespaces'])),
  },
  {
    title: 'The API it serves',
    run: async (demo) => show('kubectl api-resources | head', await kubectl(demo, ['api-resources']), 10),
  },
];

function banner(index: number, title: string): void {
  const text = `[${index + 1}/${steps.length}] ${title}`;
  console.log(`\n${'='.repeat(text.length + 4)}\n  ${text}\n${'='.repeat(text.length + 4)}`);
}

async function main(): Promise<number> {
  const demo: Demo = { binDir: '' };
  try {
    for (const [index, step] of steps.entries()) {
      banner(index, step.title);
      await step.run(demo);
    }
    console.log('\ndemo finished.');
    return 0;
  } catch (error) {
    console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    if (demo.controlPlane !== undefined) {
      console.log('stopping the control plane…');
      await demo.controlPlane.stop();
      console.log('stopped; its temp dir is removed.');
    }
  }
}

process.exitCode = await main();
