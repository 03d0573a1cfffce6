// The metric conditions' inputs: each (url, query) that a policy names is polled from the Prometheus HTTP API in the
// background; decide() reads the last value and its age, never waiting on the network. A failed or empty query is
// kept as an error, which the condition turns into "cannot be evaluated" (the policy's failurePolicy then applies).
import type { CompiledPolicy } from '../core/policy.js';
import type { MetricReader, MetricSample } from '../core/types.js';

export interface PrometheusPollerOptions {
  /** How often each query is asked again. Default 15 s. */
  intervalMs?: number;
  /** Timeout of one query. Default 5 s. */
  timeoutMs?: number;
  now: () => number;
  fetch?: typeof fetch;
}

interface Sample {
  value?: number;
  /** Epoch ms of the sample (Prometheus' own timestamp). */
  at?: number;
  error?: string;
}

interface InstantVectorResponse {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: { value?: [number, string] }[] | [number, string] };
}

/** The (url, query) pairs the policies' metric conditions need. */
export function metricQueries(policies: readonly CompiledPolicy[]): { url: string; query: string }[] {
  const out = new Map<string, { url: string; query: string }>();
  for (const p of policies) {
    for (const c of [...p.enforceWhen, ...p.relaxWhen]) {
      if (c.kind === 'metric') out.set(`${c.url}\u0000${c.query}`, { url: c.url, query: c.query });
    }
  }
  return [...out.values()];
}

/** Reads one number out of a Prometheus instant query response: a scalar, or a vector with exactly one sample. */
export function parseInstant(body: InstantVectorResponse): Sample {
  if (body.status !== 'success' || body.data === undefined) return { error: body.error ?? 'query failed' };
  const { resultType, result } = body.data;
  let pair: [number, string] | undefined;
  if (resultType === 'scalar') pair = result as [number, string];
  else if (resultType === 'vector') {
    const vector = result as { value?: [number, string] }[];
    if (vector.length !== 1) return { error: `the query returned ${vector.length} series; it must return exactly one` };
    pair = vector[0]?.value;
  } else return { error: `unsupported result type ${resultType}` };
  if (pair === undefined) return { error: 'no value' };
  const value = Number(pair[1]);
  if (Number.isNaN(value)) return { error: `not a number: ${pair[1]}` };
  return { value, at: pair[0] * 1000 };
}

export class PrometheusPoller implements MetricReader {
  private readonly samples = new Map<string, Sample>();
  private queries: { url: string; query: string }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PrometheusPollerOptions) {}

  read(url: string, query: string): MetricSample | undefined {
    const s = this.samples.get(`${url}\u0000${query}`);
    if (s === undefined) return undefined;
    if (s.error !== undefined || s.value === undefined || s.at === undefined) return { error: s.error ?? 'no value' };
    return { value: s.value, ageSeconds: Math.max(0, (this.options.now() - s.at) / 1000) };
  }

  /** Polls these queries from now on (and once right away for new ones). */
  async track(queries: { url: string; query: string }[]): Promise<void> {
    this.queries = queries;
    const fresh = queries.filter((q) => !this.samples.has(`${q.url}\u0000${q.query}`));
    await Promise.all(fresh.map((q) => this.poll(q)));
    if (this.timer === undefined && queries.length > 0) {
      this.timer = setInterval(() => void this.pollAll(), this.options.intervalMs ?? 15_000);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async pollAll(): Promise<void> {
    await Promise.all(this.queries.map((q) => this.poll(q)));
  }

  private async poll(q: { url: string; query: string }): Promise<void> {
    const key = `${q.url}\u0000${q.query}`;
    const url = `${q.url.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(q.query)}`;
    try {
      const res = await (this.options.fetch ?? fetch)(url, { signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000) });
      if (!res.ok) {
        this.samples.set(key, { error: `HTTP ${res.status} from ${q.url}` });
        return;
      }
      this.samples.set(key, parseInstant((await res.json()) as InstantVectorResponse));
    } catch (error) {
      this.samples.set(key, { error: `${q.url} unreachable: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
}
