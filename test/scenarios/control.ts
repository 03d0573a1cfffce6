// Suture's lifecycle across scenarios: the clock of each scenario must reach it.

import type { StartSuture, SutureHandle } from './suture.js';

export interface SutureControl {
  /** Makes Suture run with this clock (undefined = real time) before a scenario; throws when it cannot. */
  prepare(clock: string | undefined): Promise<void>;
  /** Kills one replica (the leader when known) and starts it again; resolves what was done, or undefined when it cannot. */
  restartOne(): Promise<string | undefined>;
  stop(): Promise<void>;
}

/** Suture started by the runner through the hook; restarted whenever the next scenario's clock differs. */
export function managedSuture(start: StartSuture, kubeconfigPath: string): SutureControl {
  let handle: SutureHandle | undefined;
  let current: string | undefined;
  return {
    async prepare(clock) {
      if (handle !== undefined && current === clock) return;
      if (handle?.restart !== undefined) {
        await handle.restart({ clock });
      } else {
        await handle?.stop();
        handle = undefined;
        handle = await start({ kubeconfigPath, clock });
      }
      current = clock;
    },
    async restartOne() {
      return handle?.restartOne?.();
    },
    async stop() {
      await handle?.stop();
      handle = undefined;
    },
  };
}

/** Suture already running (--kubeconfig): the runner cannot give it a clock. */
export function externalSuture(): SutureControl {
  return {
    prepare(clock) {
      if (clock === undefined) return Promise.resolve();
      return Promise.reject(new Error(`this scenario sets clock: ${clock}, which cannot reach a Suture the runner did not start (--kubeconfig); run it without --kubeconfig`));
    },
    restartOne: () => Promise.resolve(undefined),
    stop: () => Promise.resolve(),
  };
}

/** No Suture at all (--no-suture): clocks only shift {{now}}; for the runner's self-test. */
export function noSuture(): SutureControl {
  return { prepare: () => Promise.resolve(), restartOne: () => Promise.resolve(undefined), stop: () => Promise.resolve() };
}
