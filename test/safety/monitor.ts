// The cluster side of the safety test that is not an operator: a fake kubelet (pods never run here; it marks every
// pod Running and Ready a moment after it appears, and puts back a Ready condition somebody forged away), and the
// oracle that watches what must never happen — a protected object missing or changed, a floor crossed, a leased
// object or field changed by someone other than its holder.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CONTENT_TYPES, type RawObjectApi } from '../../src/kube/client.js';
import type { Floor } from './world.js';
import { FIELD_LEASE, FLOORS, LABEL_PROTECTED, LEASED_CONFIGMAPS, PROTECTED_PODS, leaseHolderOf, operatorUser } from './world.js';

export interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    ownerReferences?: { uid: string; controller?: boolean; kind: string; name: string }[];
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
}

interface List {
  items?: Obj[];
}

/** How long a new pod stays not ready (its "start-up"): a crossing it would hide lasts longer than two ticks. */
const READY_DELAY_MS = 1500;
const TICK_MS = 400;

export interface Violation {
  readonly at: string;
  readonly what: 'protect' | 'floor' | 'lease';
  readonly message: string;
}

interface Guarded {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly fingerprint: string;
  readonly firstSeen: string;
}

function fingerprint(kind: string, o: Obj): string {
  if (kind === 'Pod') return '';
  const raw = o as unknown as Record<string, unknown>;
  return JSON.stringify({ labels: o.metadata.labels ?? {}, annotations: o.metadata.annotations ?? {}, data: raw.data ?? null, binaryData: raw.binaryData ?? null, spec: o.spec ?? null });
}

function isReadyCondition(pod: Obj): boolean {
  const conditions = pod.status?.conditions;
  return Array.isArray(conditions) && conditions.some((c: { type?: string; status?: string }) => c.type === 'Ready' && c.status === 'True');
}

function controllerOf(o: Obj): string | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller === true)?.uid;
}

export interface AuditEntry {
  readonly verb: string;
  readonly user: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly code: number;
  readonly time: string;
}

/** The ResponseComplete events of the API server's audit log from `offset` on (the log may grow while read). */
export function readAudit(path: string, offset: number): { entries: AuditEntry[]; offset: number } {
  const size = statSync(path).size;
  const text = readFileSync(path).subarray(offset, size).toString('utf8');
  const end = text.lastIndexOf('\n') + 1;
  const entries: AuditEntry[] = [];
  for (const line of text.slice(0, end).split('\n')) {
    if (line === '') continue;
    const e = JSON.parse(line) as { stage?: string; verb?: string; user?: { username?: string }; impersonatedUser?: { username?: string }; objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string }; responseStatus?: { code?: number }; requestReceivedTimestamp?: string };
    if (e.stage !== 'ResponseComplete') continue;
    entries.push({
      verb: e.verb ?? '',
      user: e.impersonatedUser?.username ?? e.user?.username ?? '',
      resource: e.objectRef?.resource ?? '',
      subresource: e.objectRef?.subresource,
      namespace: e.objectRef?.namespace,
      name: e.objectRef?.name,
      code: e.responseStatus?.code ?? 0,
      time: e.requestReceivedTimestamp ?? '',
    });
  }
  return { entries, offset: offset + Buffer.byteLength(text.slice(0, end), 'utf8') };
}

const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export class Monitor {
  /** Pods the fake kubelet made ready: the truth about availability (a forged Ready condition does not count). */
  private readonly readyUids = new Set<string>();
  private readonly firstSeen = new Map<string, number>();
  private pods: Obj[] = [];
  private readonly guarded = new Map<string, Guarded>();
  private readonly floorBelow = new Map<string, number>();
  /** Per floor, the pods it counted on the last tick it held (for a violation's explanation). */
  private readonly floorHeld = new Map<string, { at: string; pods: Obj[] }>();
  private readonly workloadUids = new Map<string, string>();
  private readonly leasedUids = new Map<string, string>();
  private webUid: string | undefined;
  private auditOffset = 0;
  private armed = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  readonly violations: Violation[] = [];
  /** The lowest ready count each floor had while armed. */
  readonly floorMin = new Map<string, number>();
  ticks = 0;
  private reported = 0;
  kubeletWrites = 0;

  constructor(
    private readonly admin: RawObjectApi,
    private readonly auditLogPath: string,
    private readonly operators: number,
  ) {}

  private async list(path: string, labelSelector?: string): Promise<Obj[]> {
    const res = await this.admin.exchange({ method: 'GET', path, ...(labelSelector === undefined ? {} : { query: { labelSelector } }) });
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    return (res.body as List).items ?? [];
  }

  private violation(what: Violation['what'], message: string): void {
    this.violations.push({ at: new Date().toISOString(), what, message });
  }

  /** Pods of the cluster, as of the last tick. */
  podsOf(namespace: string, app: string): Obj[] {
    return this.pods.filter((p) => p.metadata.namespace === namespace && p.metadata.labels?.app === app && p.metadata.deletionTimestamp === undefined).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  start(): void {
    const loop = async (): Promise<void> => {
      try {
        await this.tick();
      } catch (error) {
        process.stderr.write(`[monitor] ${error instanceof Error ? error.message : String(error)}\n`);
      }
      if (this.timer !== undefined) this.timer = setTimeout(schedule, TICK_MS);
    };
    const schedule = (): void => {
      this.running = loop();
    };
    this.timer = setTimeout(schedule, 0);
  }

  async stop(): Promise<void> {
    const timer = this.timer;
    this.timer = undefined;
    clearTimeout(timer);
    await this.running;
  }

  /** One pass: make pods ready, then (once armed) check floors and record what `protect` guards. */
  private async tick(): Promise<void> {
    this.ticks++;
    // List items carry no kind: set it.
    const listKind = async (kind: string): Promise<Obj[]> => (await this.list(`/apis/apps/v1/${kind.toLowerCase()}s`)).map((o) => ({ ...o, kind }));
    const [replicaSets, statefulSets, deployments] = await Promise.all([listKind('ReplicaSet'), listKind('StatefulSet'), listKind('Deployment')]);
    const pods = await this.list('/api/v1/pods');
    this.pods = pods;
    await this.kubelet(pods);
    if (!this.armed) return;
    this.checkFloors(pods, [...replicaSets, ...statefulSets, ...deployments]);
    this.checkFieldLease(deployments);
    for (const pod of pods) if (pod.metadata.namespace === PROTECTED_PODS.namespace && pod.metadata.labels?.app === PROTECTED_PODS.app && pod.metadata.deletionTimestamp === undefined) this.guard('Pod', pod);
    if (this.ticks % 3 === 0) await this.recordProtected();
  }

  private async kubelet(pods: Obj[]): Promise<void> {
    const now = Date.now();
    const writes: Promise<void>[] = [];
    for (const pod of pods) {
      const uid = pod.metadata.uid;
      if (pod.metadata.deletionTimestamp !== undefined || pod.metadata.namespace === 'kube-system') continue;
      if (!this.firstSeen.has(uid)) this.firstSeen.set(uid, now);
      const ready = this.readyUids.has(uid);
      if (ready && isReadyCondition(pod)) continue;
      if (!ready && now - (this.firstSeen.get(uid) ?? now) < READY_DELAY_MS) continue;
      writes.push(this.markReady(pod));
    }
    await Promise.all(writes);
  }

  private async markReady(pod: Obj): Promise<void> {
    const now = new Date().toISOString();
    const res = await this.admin.exchange({
      method: 'PATCH',
      path: `/api/v1/namespaces/${pod.metadata.namespace ?? ''}/pods/${pod.metadata.name}/status`,
      contentType: CONTENT_TYPES.merge,
      body: { metadata: { uid: pod.metadata.uid }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }, { type: 'ContainersReady', status: 'True', lastTransitionTime: now }] } },
    });
    this.kubeletWrites++;
    if (res.status === 200) this.readyUids.add(pod.metadata.uid);
  }

  /** Ready pods of a floor now, by the kubelet's truth; undefined when the floor names no workload. */
  private readyPodsOf(floor: Floor, pods: Obj[], workloads: Obj[]): Obj[] | undefined {
    const available = (p: Obj): boolean => p.metadata.deletionTimestamp === undefined && this.readyUids.has(p.metadata.uid);
    if (floor.by === 'label') return pods.filter((p) => p.metadata.namespace === floor.namespace && p.metadata.labels?.app === floor.app && available(p));
    const w = floor.workload;
    if (w === undefined) return undefined;
    const uid = this.workloadUids.get(floor.policy);
    const current = workloads.find((o) => o.kind === w.kind && o.metadata.namespace === w.namespace && o.metadata.name === w.name);
    if (current === undefined || current.metadata.uid !== uid) return [];
    const owners = new Set([uid]);
    if (w.kind === 'Deployment') for (const rs of workloads) if (rs.kind === 'ReplicaSet' && controllerOf(rs) === uid) owners.add(rs.metadata.uid);
    return pods.filter((p) => owners.has(controllerOf(p) ?? '') && available(p));
  }

  /** What became of the pods a floor counted when it last held: the names to look for in the request and audit logs. */
  private explain(floor: Floor, pods: Obj[], counted: Obj[]): string {
    const held = this.floorHeld.get(floor.policy);
    if (held === undefined) return 'it never held while armed';
    const now = new Set(counted.map((p) => p.metadata.uid));
    const fates = held.pods
      .filter((p) => !now.has(p.metadata.uid))
      .map((p) => {
        const current = pods.find((o) => o.metadata.uid === p.metadata.uid);
        const fate =
          current === undefined ? 'gone'
          : current.metadata.deletionTimestamp !== undefined ? `terminating since ${current.metadata.deletionTimestamp}`
          : !this.readyUids.has(p.metadata.uid) ? 'not made ready by the kubelet'
          : `no longer counted (labels ${JSON.stringify(current.metadata.labels ?? {})}, controller ${controllerOf(current) ?? 'none'})`;
        return `${p.metadata.namespace ?? ''}/${p.metadata.name} (uid ${p.metadata.uid}): ${fate}`;
      });
    return `counted now: ${counted.map((p) => p.metadata.name).join(', ') || 'none'}; of the ${held.pods.length} counted when it last held (${held.at}): ${fates.join('; ') || 'all still counted'}`;
  }

  private checkFloors(pods: Obj[], workloads: Obj[]): void {
    for (const floor of FLOORS) {
      const counted = this.readyPodsOf(floor, pods, workloads);
      if (counted === undefined) continue;
      const ready = counted.length;
      if (ready >= floor.min) this.floorHeld.set(floor.policy, { at: new Date().toISOString(), pods: counted });
      this.floorMin.set(floor.policy, Math.min(this.floorMin.get(floor.policy) ?? ready, ready));
      // Below the floor on two ticks in a row (the lists are read one after the other, not at one instant).
      const below = ready < floor.min ? (this.floorBelow.get(floor.policy) ?? 0) + 1 : 0;
      this.floorBelow.set(floor.policy, below);
      if (below === 2) this.violation('floor', `${floor.policy}: ${ready} ready pods of ${floor.by === 'owner' ? `${floor.workload?.kind ?? ''} ${floor.namespace}/${floor.workload?.name ?? ''}` : `app=${floor.app} in ${floor.namespace}`}, at least ${floor.min} required; ${this.explain(floor, pods, counted)}`);
    }
  }

  private checkFieldLease(deployments: Obj[]): void {
    const web = deployments.find((d) => d.metadata.namespace === FIELD_LEASE.namespace && d.metadata.name === FIELD_LEASE.name);
    if (web === undefined || web.metadata.uid !== this.webUid) return; // the uid check at checkpoints reports it
    const replicas = web.spec?.replicas;
    if (typeof replicas === 'number' && !(FIELD_LEASE.holderValues as readonly number[]).includes(replicas)) {
      this.violation('lease', `Deployment ${FIELD_LEASE.namespace}/${FIELD_LEASE.name} /spec/replicas is ${replicas}: only op-${FIELD_LEASE.holder} (lease ${`op-${FIELD_LEASE.holder}-web-replicas`}) writes it, and it writes 1-3; the others try 4-6`);
    }
  }

  private guard(kind: string, o: Obj): void {
    const k = `${kind}:${o.metadata.uid}`;
    if (this.guarded.has(k)) return;
    this.guarded.set(k, { kind, namespace: o.metadata.namespace ?? '', name: o.metadata.name, uid: o.metadata.uid, fingerprint: fingerprint(kind, o), firstSeen: new Date().toISOString() });
  }

  /** Everything labelled protected, everywhere: each is guarded from the first time it is seen. */
  private async recordProtected(): Promise<void> {
    const selector = `${LABEL_PROTECTED}=true`;
    const [cms, secrets, pvcs] = await Promise.all([this.list('/api/v1/configmaps', selector), this.list('/api/v1/secrets', selector), this.list('/api/v1/persistentvolumeclaims', selector)]);
    for (const [kind, items] of [['ConfigMap', cms], ['Secret', secrets], ['PersistentVolumeClaim', pvcs]] as const) for (const o of items) if (o.metadata.deletionTimestamp === undefined) this.guard(kind, o);
  }

  /** Starts the checks: the world is set up and Suture enforces. Floors must hold from here on. */
  async arm(): Promise<void> {
    const workloads = [...(await this.list('/apis/apps/v1/statefulsets')), ...(await this.list('/apis/apps/v1/deployments'))];
    for (const floor of FLOORS) {
      const w = floor.workload;
      const found = w === undefined ? undefined : workloads.find((o) => o.metadata.namespace === w.namespace && o.metadata.name === w.name);
      if (found !== undefined) this.workloadUids.set(floor.policy, found.metadata.uid);
    }
    this.webUid = workloads.find((o) => o.metadata.namespace === FIELD_LEASE.namespace && o.metadata.name === FIELD_LEASE.name)?.metadata.uid;
    for (const cm of await this.list('/api/v1/namespaces/leased/configmaps')) if (leaseHolderOf(cm.metadata.name) !== undefined) this.leasedUids.set(cm.metadata.name, cm.metadata.uid);
    await this.recordProtected();
    this.auditOffset = statSync(this.auditLogPath).size;
    this.armed = true;
  }

  readyPods(namespace: string, app: string): number {
    return this.podsOf(namespace, app).filter((p) => this.readyUids.has(p.metadata.uid)).length;
  }

  /** Objects `protect` guarded in this run (those already reported missing or changed included). */
  get guardedCount(): number {
    return this.guarded.size + this.reported;
  }

  /**
   * A checkpoint (the operators are paused and the garbage collector and namespace controller had time to act):
   * every guarded object is there, unchanged; no operator wrote another's leased object; floors hold now.
   */
  async checkpoint(): Promise<{ protectedChecked: number; auditEntries: number }> {
    await this.recordProtected();
    for (const [k, g] of this.guarded) {
      const kind = g.kind as 'ConfigMap' | 'Secret' | 'PersistentVolumeClaim' | 'Pod';
      const plural = { ConfigMap: 'configmaps', Secret: 'secrets', PersistentVolumeClaim: 'persistentvolumeclaims', Pod: 'pods' }[kind];
      const res = await this.admin.exchange({ method: 'GET', path: `/api/v1/namespaces/${g.namespace}/${plural}/${g.name}` });
      const o = res.status === 200 ? (res.body as Obj) : undefined;
      const what = `${g.kind} ${g.namespace}/${g.name} (uid ${g.uid}, guarded since ${g.firstSeen})`;
      if (o === undefined || o.metadata.uid !== g.uid) this.violation('protect', `${what} is gone${o === undefined ? '' : ` (another object of that name, uid ${o.metadata.uid}, is there)`}`);
      else if (o.metadata.deletionTimestamp !== undefined) this.violation('protect', `${what} is being deleted (deletionTimestamp ${o.metadata.deletionTimestamp})`);
      else if (fingerprint(g.kind, o) !== g.fingerprint) this.violation('protect', `${what} was changed: ${g.fingerprint} -> ${fingerprint(g.kind, o)}`);
      else continue;
      this.guarded.delete(k); // reported once
      this.reported++;
    }
    const entries = this.checkLeases();
    await this.checkLeasedObjects(entries);
    return { protectedChecked: this.guardedCount, auditEntries: entries.length };
  }

  /** The audit events since the last read. The API server rotates the log at 100 MB: the rest of the old file first. */
  private readAuditSince(): AuditEntry[] {
    if (statSync(this.auditLogPath).size >= this.auditOffset) {
      const { entries, offset } = readAudit(this.auditLogPath, this.auditOffset);
      this.auditOffset = offset;
      return entries;
    }
    const dir = dirname(this.auditLogPath);
    const rotated = readdirSync(dir).filter((f) => /^audit-.*\.log$/.test(f)).sort().at(-1);
    const old = rotated === undefined ? [] : readAudit(join(dir, rotated), this.auditOffset).entries;
    const { entries, offset } = readAudit(this.auditLogPath, 0);
    this.auditOffset = offset;
    return [...old, ...entries];
  }

  private checkLeases(): AuditEntry[] {
    const entries = this.readAuditSince();
    const operatorOf = new Map(Array.from({ length: this.operators }, (_, i) => [operatorUser(i), i]));
    for (const e of entries) {
      const op = operatorOf.get(e.user);
      if (op === undefined || !WRITES.has(e.verb) || e.code >= 300) continue;
      if (e.resource === 'configmaps' && e.namespace === 'leased' && e.name !== undefined) {
        const holder = leaseHolderOf(e.name);
        if (holder !== undefined && holder !== op) this.violation('lease', `op-${op} ${e.verb} configmaps leased/${e.name}${e.subresource === undefined ? '' : `/${e.subresource}`} at ${e.time} (HTTP ${e.code}): leased by op-${holder}`);
      }
    }
    return entries;
  }

  /** A leased object replaced or removed since the last checkpoint must have been so by its holder. */
  private async checkLeasedObjects(entries: AuditEntry[]): Promise<void> {
    const current = new Map((await this.list('/api/v1/namespaces/leased/configmaps')).map((cm) => [cm.metadata.name, cm.metadata.uid]));
    for (const [holder, names] of Object.entries(LEASED_CONFIGMAPS)) {
      if (Number(holder) >= this.operators) continue;
      for (const name of names) {
        const before = this.leasedUids.get(name);
        const now = current.get(name);
        if (before === now) continue;
        // By its holder: deleted or re-created by it, or removed by the garbage collector after the holder wrote it
        // (the holder may hand its own object to the collector with an ownerReference).
        const byHolder = entries.some((e) => e.user === operatorUser(Number(holder)) && e.code < 300 && e.resource === 'configmaps' && e.namespace === 'leased' && (e.name === name || e.verb === 'deletecollection'));
        if (!byHolder) this.violation('lease', `ConfigMap leased/${name} (leased by op-${holder}) was ${now === undefined ? 'removed' : 'replaced'} since the last checkpoint, not by its holder`);
        if (now === undefined) this.leasedUids.delete(name);
        else this.leasedUids.set(name, now);
      }
    }
    const web = (await this.list(`/apis/apps/v1/namespaces/${FIELD_LEASE.namespace}/deployments`)).find((d) => d.metadata.name === FIELD_LEASE.name);
    if (web?.metadata.uid !== this.webUid) {
      const byHolder = entries.some((e) => e.user === operatorUser(FIELD_LEASE.holder) && e.code < 300 && e.resource === 'deployments' && e.name === FIELD_LEASE.name && e.verb === 'delete');
      if (!byHolder) this.violation('lease', `Deployment ${FIELD_LEASE.namespace}/${FIELD_LEASE.name} (its /spec/replicas leased by op-${FIELD_LEASE.holder}) was ${web === undefined ? 'removed' : 'replaced'}, not by its holder`);
      this.webUid = web?.metadata.uid;
    }
  }
}
