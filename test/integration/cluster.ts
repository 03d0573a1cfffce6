// The one control plane shared by every integration test: hooks.ts starts it before the first test and stops it
// after the last; tests read it through cluster().
import type { ControlPlane } from '../controlplane/harness.js';

let current: ControlPlane | undefined;

/** The running control plane; throws when called outside the integration run (hooks.ts not loaded). */
export function cluster(): ControlPlane {
  if (current === undefined) throw new Error('no control plane: run integration tests with --config test/integration/.mocharc.json (it loads test/integration/hooks.ts)');
  return current;
}

/** Sets or clears the shared control plane; only hooks.ts calls this. */
export function setCluster(controlPlane: ControlPlane | undefined): void {
  current = controlPlane;
}
