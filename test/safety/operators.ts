// The simulated operators: each sends its generated actions with its own service-account token (a governed
// identity bound to cluster-admin), counts what came back, and logs every request to a JSONL file for replays.
import { appendFileSync } from 'node:fs';
import { CONTENT_TYPES, type Exchange, type ExchangeRequest, type RawObjectApi } from '../../src/kube/client.js';
import type { Outcome } from '../../src/scenario/classify.js';
import { classify } from '../../src/scenario/classify.js';
import type { Action, PodPick, Target } from './generate.js';
import { actionLabel } from './generate.js';
import type { Monitor, Obj } from './monitor.js';
import type { ObjectRef } from './world.js';
import { FLOORS, LABEL_PROTECTED, objectPath, operatorName } from './world.js';

/** What came back: an outcome of classify(), `undecided` (Suture denied because it could not decide), or `skipped` (nothing to send). */
export type Counted = Outcome | 'undecided' | 'skipped';

/** Outcomes by action label: how many requests were tried and what came back. */
export class Tally {
  readonly byLabel = new Map<string, Map<Counted, number>>();

  add(label: string, outcome: Counted): void {
    const row = this.byLabel.get(label) ?? new Map<Counted, number>();
    row.set(outcome, (row.get(outcome) ?? 0) + 1);
    this.byLabel.set(label, row);
  }

  total(outcome?: Counted): number {
    let n = 0;
    for (const row of this.byLabel.values()) for (const [o, c] of row) if (outcome === undefined ? o !== 'skipped' : o === outcome) n += c;
    return n;
  }
}

/** A lock that keeps pod removals of floored workloads one at a time (short runs; see GeneratorOptions.drainPairs). */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(f: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release = (): void => undefined;
    this.tail = new Promise((r) => (release = r));
    await previous;
    try {
      return await f();
    } finally {
      release();
    }
  }
}

export interface OperatorContext {
  readonly index: number;
  readonly http: RawObjectApi;
  readonly monitor: Monitor;
  readonly tally: Tally;
  readonly logPath: string;
  /** undefined: pod removals are sent as they come (concurrent ones included). */
  readonly floorLock?: Mutex;
}

const SUTURE_NAMES = ['suture', ...FLOORS.map((f) => f.policy), 'keep-data', 'ledger-pods'];

function deleteOptions(propagation?: string): Record<string, unknown> | undefined {
  return propagation === undefined ? undefined : { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: propagation };
}

const FLOORED_APPS = new Set(FLOORS.map((f) => `${f.namespace}/${f.app}`));

export class Operator {
  readonly name: string;
  actions = 0;

  constructor(private readonly ctx: OperatorContext) {
    this.name = operatorName(ctx.index);
  }

  private async send(label: string, req: ExchangeRequest, floorRemoval = false): Promise<{ outcome: Outcome | 'undecided'; body: unknown }> {
    const started = Date.now();
    const go = (): Promise<Exchange> => this.ctx.http.exchange(req);
    let outcome: Outcome | 'undecided';
    let body: unknown;
    let message: string;
    try {
      const res = this.ctx.floorLock !== undefined && floorRemoval ? await this.ctx.floorLock.run(go) : await go();
      const c = classify(res, SUTURE_NAMES);
      // A denial because Suture could not decide (fresh state not had in time: fail closed) is counted apart.
      outcome = c.outcome === 'denied' && c.message.includes('could not be decided') ? 'undecided' : c.outcome;
      body = res.body;
      message = c.message;
    } catch (error) {
      outcome = 'error';
      message = error instanceof Error ? error.message : String(error);
    }
    this.ctx.tally.add(label, outcome);
    appendFileSync(this.ctx.logPath, `${JSON.stringify({ t: new Date(started).toISOString(), ms: Date.now() - started, op: this.name, label, method: req.method, path: req.path, query: req.query, body: req.body, outcome, message: message.slice(0, 400) })}\n`);
    return { outcome, body };
  }

  private pod(pick: PodPick): ObjectRef | undefined {
    const pods = this.ctx.monitor.podsOf(pick.namespace, pick.app);
    const pod = pods[pick.index % Math.max(1, pods.length)];
    return pod === undefined ? undefined : { kind: 'Pod', namespace: pick.namespace, name: pod.metadata.name };
  }

  private resolve(target: Target): ObjectRef | undefined {
    return 'ref' in target ? target.ref : this.pod(target.pod);
  }

  /** Runs one action (a pair: both at once). */
  async run(action: Action, label = actionLabel(action)): Promise<void> {
    this.actions++;
    switch (action.type) {
      case 'create': {
        const kind = action.object.kind as ObjectRef['kind'];
        await this.send(label, { method: 'POST', path: objectPath({ kind, namespace: action.object.metadata.namespace }), body: action.object });
        return;
      }
      case 'stamp': {
        const ref = this.resolve(action.target);
        if (ref === undefined) return this.ctx.tally.add(label, 'skipped');
        const patch: Record<string, unknown> = { metadata: { labels: { 'safety.suture.dev/touch': action.value } } };
        if (ref.kind === 'ConfigMap' || ref.kind === 'Secret') patch[ref.kind === 'Secret' ? 'stringData' : 'data'] = { writer: action.value };
        await this.send(label, { method: 'PATCH', path: objectPath(ref), contentType: CONTENT_TYPES.merge, body: patch });
        return;
      }
      case 'unprotect':
        await this.send(label, { method: 'PATCH', path: objectPath(action.target), contentType: CONTENT_TYPES.merge, body: { metadata: { labels: { [LABEL_PROTECTED]: null } } } });
        return;
      case 'scale':
        await this.send(label, { method: 'PATCH', path: objectPath(action.target, action.via === 'scale' ? 'scale' : undefined), contentType: CONTENT_TYPES.merge, body: { spec: { replicas: action.replicas } } });
        return;
      case 'status': {
        const ref = this.resolve(action.target);
        if (ref === undefined) return this.ctx.tally.add(label, 'skipped');
        const body = ref.kind === 'Pod' ? { status: { conditions: [{ type: 'Ready', status: action.ready > 0 ? 'True' : 'False' }] } } : { status: { readyReplicas: action.ready, availableReplicas: action.ready } };
        await this.send(label, { method: 'PATCH', path: objectPath(ref, 'status'), contentType: CONTENT_TYPES.merge, body });
        return;
      }
      case 'evict': {
        const ref = this.pod(action.pod);
        if (ref === undefined) return this.ctx.tally.add(label, 'skipped');
        const body = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: ref.name, namespace: ref.namespace } };
        await this.send(label, { method: 'POST', path: objectPath(ref, 'eviction'), body }, FLOORED_APPS.has(`${action.pod.namespace}/${action.pod.app}`));
        return;
      }
      case 'delete': {
        const ref = this.resolve(action.target);
        if (ref === undefined) return this.ctx.tally.add(label, 'skipped');
        await this.send(label, { method: 'DELETE', path: objectPath(ref), body: deleteOptions(action.propagation) }, ref.kind === 'Pod');
        return;
      }
      case 'deletecollection':
        await this.send(label, { method: 'DELETE', path: objectPath({ kind: action.kind, namespace: action.namespace }), ...(action.selector === undefined ? {} : { query: { labelSelector: action.selector } }) }, action.kind === 'Pod');
        return;
      case 'rollout':
        await this.send(label, { method: 'PATCH', path: objectPath(action.target), contentType: CONTENT_TYPES.merge, body: { spec: { template: { metadata: { annotations: { 'safety.suture.dev/rollout': action.value } } } } } });
        return;
      case 'hpa': {
        const spec = { scaleTargetRef: { apiVersion: 'apps/v1', kind: action.target.kind, name: action.target.name }, minReplicas: action.min, maxReplicas: action.max };
        const path = objectPath({ kind: 'HorizontalPodAutoscaler', namespace: action.target.namespace });
        if (action.update) await this.send(label, { method: 'PATCH', path: `${path}/${action.name}`, contentType: CONTENT_TYPES.merge, body: { spec: { minReplicas: action.min, maxReplicas: action.max } } });
        else await this.send(label, { method: 'POST', path, body: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: action.name, namespace: action.target.namespace }, spec } });
        return;
      }
      case 'owner': {
        const ref = this.resolve(action.target);
        if (ref === undefined) return this.ctx.tally.add(label, 'skipped');
        const owner: ObjectRef = { kind: 'ConfigMap', namespace: ref.namespace, name: action.owner };
        const created = await this.send('create ConfigMap (owner)', { method: 'POST', path: objectPath({ kind: 'ConfigMap', namespace: ref.namespace }), body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: owner.name, namespace: ref.namespace } } });
        const uid = (created.body as Obj | undefined)?.metadata?.uid;
        if (created.outcome !== 'allowed' || uid === undefined) return;
        // Added by a strategic merge (merge key uid): the target keeps its other owners, its controller above all.
        const reference = { apiVersion: 'v1', kind: 'ConfigMap', name: action.dangling ? `${owner.name}-elsewhere` : owner.name, uid };
        await Promise.all([
          this.send(label, { method: 'PATCH', path: objectPath(ref), contentType: CONTENT_TYPES.strategic, body: { metadata: { ownerReferences: [reference] } } }),
          this.send('delete ConfigMap (owner) Background', { method: 'DELETE', path: objectPath(owner), body: deleteOptions('Background') }),
        ]);
        return;
      }
      case 'pair':
        await Promise.all(action.actions.map((a) => this.run(a, `${label}: ${actionLabel(a)}`)));
        this.actions--;
        return;
    }
  }
}
