// The arithmetic of `make bench`: medians, ratios of one configuration to another measured in the same round, and
// the `TARGET <name> <measured> <target> PASS|MISS` lines the run ends with. Pure, so it has unit tests.

export interface Latency {
  readonly p50ms: number;
  readonly p99ms: number;
  readonly throughput: number;
}

export interface Target {
  /** One word: e.g. governed-create-1c-p50-vs-vap. */
  readonly name: string;
  /** What was measured, one word with its unit: 1.12x, 3412/s, 0.84KB. */
  readonly measured: string;
  /** The bound, one word: <=1.25x, >=3000/s. */
  readonly target: string;
  readonly pass: boolean;
}

/** The median of the finite values; NaN when there are none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * The ratio of `measured` to `baseline` per round (both measured in the same round, so a machine busier in one round
 * than another weighs on both), then the median over the rounds. Rounds missing either side are left out.
 */
export function medianRatio(measured: readonly number[], baseline: readonly number[]): number {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(measured.length, baseline.length); i++) {
    const m = measured[i] as number;
    const b = baseline[i] as number;
    if (Number.isFinite(m) && Number.isFinite(b) && b > 0) ratios.push(m / b);
  }
  return median(ratios);
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** measured ≤ limit×, e.g. a p50 ratio against VAP. A ratio that could not be measured is a MISS. */
export function ratioAtMost(name: string, ratio: number, limit: number): Target {
  return { name, measured: `${fixed(ratio, 2)}x`, target: `<=${limit}x`, pass: Number.isFinite(ratio) && ratio <= limit };
}

/** A bound in a unit, e.g. { limit: 10, unit: 'ms', digits: 1 }. */
export interface Bound {
  readonly limit: number;
  readonly unit: string;
  /** Decimals of the measured value. Default 1. */
  readonly digits?: number;
}

/** value ≤ limit. */
export function atMost(name: string, value: number, { limit, unit, digits = 1 }: Bound): Target {
  return { name, measured: `${fixed(value, digits)}${unit}`, target: `<=${limit}${unit}`, pass: Number.isFinite(value) && value <= limit };
}

/** value ≥ limit. */
export function atLeast(name: string, value: number, { limit, unit, digits = 0 }: Bound): Target {
  return { name, measured: `${fixed(value, digits)}${unit}`, target: `>=${limit}${unit}`, pass: Number.isFinite(value) && value >= limit };
}

/** A target that could not be measured in this run (a phase failed or was not selected with BENCH=): always a MISS. */
export function notMeasured(name: string, target: string, why: string): Target {
  return { name, measured: `not-measured(${why.replace(/\s+/g, '-')})`, target, pass: false };
}

/** `TARGET <name> <measured> <target> PASS|MISS` */
export function formatTarget(t: Target): string {
  return `TARGET ${t.name} ${t.measured} ${t.target} ${t.pass ? 'PASS' : 'MISS'}`;
}

/** Parses the `| request | iterations | p50 ms | p99 ms | …` rows make bench-core prints. */
export function parseCoreTable(output: string): Map<string, { p50ms: number; p99ms: number }> {
  const rows = new Map<string, { p50ms: number; p99ms: number }>();
  for (const line of output.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 6) continue;
    const [, name, iterations, p50, p99] = cells;
    if (name === undefined || !/^\d+$/.test(iterations ?? '')) continue;
    rows.set(name, { p50ms: Number(p50), p99ms: Number(p99) });
  }
  return rows;
}

/** The sum of a Prometheus counter's samples whose labels include every `labels` pair (text exposition format). */
/** A histogram's sum and count over the series that carry the labels. */
export function histogramTotals(metrics: string, name: string, labels: Readonly<Record<string, string>> = {}): { sum: number; count: number } {
  return { sum: counterSum(metrics, `${name}_sum`, labels), count: counterSum(metrics, `${name}_count`, labels) };
}

/** The mean in milliseconds of what a histogram observed between two scrapes ("-" when it observed nothing). */
export function meanMsBetween(before: string, after: string, name: string, labels: Readonly<Record<string, string>> = {}): string {
  const [a, b] = [histogramTotals(before, name, labels), histogramTotals(after, name, labels)];
  const count = b.count - a.count;
  return count <= 0 ? '-' : `${(((b.sum - a.sum) / count) * 1000).toFixed(2)} ms`;
}

export function counterSum(metrics: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (!wanted) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}
