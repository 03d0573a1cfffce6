// Where scenarios run: a control plane the runner starts (with the CRDs installed and Suture started through the
// hook), or a cluster already running with Suture (--kubeconfig).

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { startControlPlane, statusPreservingControllers } from '../controlplane/harness.js';
import type { ScenarioContext } from './context.js';
import type { SutureControl } from './control.js';
import { externalSuture, managedSuture, noSuture } from './control.js';
import { loadKubeConfig, RawObjectApi } from '../../src/kube/client.js';
import { createDiscovery } from '../../src/kube/discovery.js';
import { Kinds } from '../../src/scenario/kube.js';
import type { ScenarioObject } from '../../src/scenario/model.js';
import { createAsAdmin } from './ops.js';
import { realTiming } from './poll.js';
import { replicatedSuture } from './suture.js';
import { UidRegistry } from '../../src/scenario/templates.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Controllers of the runner's control plane: those that leave the `status` a scenario writes in setup alone. */
export const SCENARIO_CONTROLLERS: readonly string[] = statusPreservingControllers;

export interface Environment {
  readonly api: RawObjectApi;
  readonly discovery: Kinds;
  readonly suture: SutureControl;
  stop(): Promise<void>;
}

function setupContext(api: RawObjectApi, discovery: Kinds, log: (line: string) => void): ScenarioContext {
  return { api, discovery, timing: realTiming, templates: { uids: new UidRegistry(), now: Date.now }, log };
}

/** Installs Suture's CRDs from crds/ and awaits them (a fresh control plane has none). */
async function installCrds(ctx: ScenarioContext): Promise<void> {
  const dir = join(root, 'crds');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const object = doc.toJS() as ScenarioObject | null;
      if (object !== null) await createAsAdmin(ctx, object);
    }
  }
}

export function attachToCluster(kubeconfigPath: string): Environment {
  const api = RawObjectApi.fromKubeConfig(loadKubeConfig({ kind: 'file', path: kubeconfigPath }));
  return { api, discovery: new Kinds(createDiscovery(api)), suture: externalSuture(), stop: () => Promise.resolve() };
}

export interface StartOptions {
  /** The runner's own progress lines. */
  readonly log: (line: string) => void;
  /** The control plane's startup lines (build, components). */
  readonly progress: (line: string) => void;
  /** Start no Suture (the runner's self-test). */
  readonly withoutSuture: boolean;
  /** Suture processes behind one balancer (default 1). */
  readonly replicas?: number;
}

export async function startEnvironment({ log, progress, withoutSuture, replicas = 1 }: StartOptions): Promise<Environment> {
  const started = Date.now();
  const controlPlane = await startControlPlane({ controllers: SCENARIO_CONTROLLERS, log: progress });
  log(`control plane up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  try {
    const api = RawObjectApi.fromKubeConfig(loadKubeConfig({ kind: 'file', path: controlPlane.kubeconfigPath }));
    const discovery = new Kinds(createDiscovery(api));
    await installCrds(setupContext(api, discovery, log));
    log(`Suture's CRDs installed; ${withoutSuture ? 'Suture not started (--no-suture)' : `Suture (${replicas} replica${replicas === 1 ? '' : 's'}) starts before the first scenario`}`);
    const suture = withoutSuture ? noSuture() : managedSuture(replicatedSuture(replicas), controlPlane.kubeconfigPath);
    const stop = async (): Promise<void> => {
      await suture.stop().finally(() => controlPlane.stop());
    };
    return { api, discovery, suture, stop };
  } catch (error) {
    await controlPlane.stop();
    throw error;
  }
}
