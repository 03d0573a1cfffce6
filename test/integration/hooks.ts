// Mocha root hooks (loaded by test/integration/.mocharc.json): one real control plane for the whole integration run.
// Set SUTURE_CONTROLPLANE_BIN to use prebuilt binaries; SUTURE_KEEP_CONTROLPLANE=1 keeps its temp dir (logs) after the run.
import type { Context } from 'mocha';
import type { ControlPlane } from '../controlplane/harness.js';
import { startControlPlane } from '../controlplane/harness.js';
import { setCluster } from './cluster.js';

const startTimeoutMs = 45 * 60 * 1000; // a first build of the binaries can take this long
let started: ControlPlane | undefined;

export const mochaHooks = {
  async beforeAll(this: Context): Promise<void> {
    this.timeout(startTimeoutMs);
    const controlPlane = await startControlPlane({
      binDir: process.env.SUTURE_CONTROLPLANE_BIN,
      keepDir: process.env.SUTURE_KEEP_CONTROLPLANE === '1',
      // features.test.ts reads Suture's audit annotations back from the API server's audit log.
      audit: true,
      log: (line) => process.stderr.write(`[controlplane] ${line}\n`),
    });
    started = controlPlane;
    setCluster(controlPlane);
  },
  async afterAll(this: Context): Promise<void> {
    this.timeout(60_000);
    setCluster(undefined);
    await started?.stop();
    started = undefined;
  },
};
