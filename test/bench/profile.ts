// Summarises a V8 CPU profile (`node --cpu-prof`): self time per function, the heaviest first. `make bench` prints
// this for Suture's profile so that a missed target shows where the time went.
//   npx tsx test/bench/profile.ts <file.cpuprofile> [top=15]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotFunction {
  /** function (file:line) */
  readonly name: string;
  readonly selfMs: number;
  /** Share of the sampled time, in percent. */
  readonly percent: number;
}

function label(frame: ProfileNode['callFrame'], root: string): string {
  const fn = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return fn;
  const path = frame.url.startsWith('file://') ? relative(root, new URL(frame.url).pathname) : frame.url;
  return `${fn} (${path}:${frame.lineNumber + 1})`;
}

/** Self time per function label (samples × their time deltas), heaviest first; `(idle)` is left out. */
export function hotFunctions(profile: CpuProfile, top = 15, root = process.cwd()): HotFunction[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i] as number);
    if (node === undefined || node.callFrame.functionName === '(idle)') continue;
    const us = deltas[i + 1] ?? deltas[i] ?? 0;
    total += us;
    const name = label(node.callFrame, root);
    self.set(name, (self.get(name) ?? 0) + us);
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, selfMs: us / 1000, percent: total === 0 ? 0 : (100 * us) / total }));
}

/** Busy (non-idle) time of the profile in ms. */
export function busyMs(profile: CpuProfile): number {
  return hotFunctions(profile, Number.MAX_SAFE_INTEGER).reduce((sum, f) => sum + f.selfMs, 0);
}

export function formatHotFunctions(functions: readonly HotFunction[]): string {
  return functions.map((f) => `  ${f.selfMs.toFixed(0).padStart(7)} ms ${f.percent.toFixed(1).padStart(5)}%  ${f.name}`).join('\n');
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: profile.ts <file.cpuprofile> [top]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  console.log(`busy ${busyMs(profile).toFixed(0)} ms of ${((profile.endTime - profile.startTime) / 1000).toFixed(0)} ms`);
  console.log(formatHotFunctions(hotFunctions(profile, Number(process.argv[3] ?? 15))));
}
