// Measures the local control plane: time from startControlPlane() to ready, resident memory of each component
// (VmRSS from /proc/<pid>/status) at ready and after a settle period, and time to stop. Prints a table and medians.
//
//   npx tsx test/controlplane/measure.ts [runs=5] [settleSeconds=10]
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { findBinaries } from './binaries.js';
import { startControlPlane } from './harness.js';

interface Sample {
  readonly startMs: number;
  readonly stopMs: number;
  /** MiB per component, at ready and after settling. */
  readonly rssAtReady: Record<string, number>;
  readonly rssSettled: Record<string, number>;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kib) / 1024;
}

function rssOf(components: readonly { name: string; pid: number }[]): Record<string, number> {
  return Object.fromEntries(components.map(({ name, pid }) => [name, rssMiB(pid)]));
}

async function measureOnce(binDir: string, settleSeconds: number): Promise<Sample> {
  const t0 = performance.now();
  const cp = await startControlPlane({ binDir });
  const startMs = performance.now() - t0;
  const rssAtReady = rssOf(cp.components);
  await sleep(settleSeconds * 1000);
  const rssSettled = rssOf(cp.components);
  const t1 = performance.now();
  await cp.stop();
  return { startMs, stopMs: performance.now() - t1, rssAtReady, rssSettled };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

function report(samples: readonly Sample[], settleSeconds: number): void {
  const components = Object.keys(samples[0]?.rssAtReady ?? {});
  const fmt = (n: number): string => n.toFixed(0).padStart(6);
  console.log(`run  start→ready ms  stop ms  ${components.map((c) => `${c} MiB (ready/+${settleSeconds}s)`).join('  ')}`);
  samples.forEach((s, i) => {
    const rss = components.map((c) => `${fmt(s.rssAtReady[c] ?? NaN)} / ${fmt(s.rssSettled[c] ?? NaN)}`).join('  ');
    console.log(`${String(i + 1).padStart(3)}  ${fmt(s.startMs)}          ${fmt(s.stopMs)}  ${rss}`);
  });
  console.log(`median start→ready: ${median(samples.map((s) => s.startMs)).toFixed(0)} ms (min ${Math.min(...samples.map((s) => s.startMs)).toFixed(0)}, max ${Math.max(...samples.map((s) => s.startMs)).toFixed(0)})`);
  console.log(`median stop: ${median(samples.map((s) => s.stopMs)).toFixed(0)} ms`);
  for (const c of components) {
    console.log(`median RSS ${c}: ${median(samples.map((s) => s.rssAtReady[c] ?? NaN)).toFixed(0)} MiB at ready, ${median(samples.map((s) => s.rssSettled[c] ?? NaN)).toFixed(0)} MiB after ${settleSeconds}s`);
  }
  const totals = samples.map((s) => Object.values(s.rssSettled).reduce((a, b) => a + b, 0));
  console.log(`median RSS total after ${settleSeconds}s: ${median(totals).toFixed(0)} MiB`);
}

async function main(runs: number, settleSeconds: number): Promise<void> {
  const binDir = await findBinaries(process.env.SUTURE_CONTROLPLANE_BIN, (line) => console.error(line));
  // One unmeasured start first, so every measured run finds the binaries in the page cache.
  await (await startControlPlane({ binDir })).stop();
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) samples.push(await measureOnce(binDir, settleSeconds));
  report(samples, settleSeconds);
}

await main(Number(process.argv[2] ?? 5), Number(process.argv[3] ?? 10));
