// Every structured-log key Suture writes, in one place (as Gatekeeper keeps its logging keys): a log query written
// against one of these names finds every line that carries it, whichever module wrote it.

export const LogKeys = {
  // Admission decisions
  decisionId: 'decisionId',
  verdict: 'verdict',
  policy: 'policy',
  invariant: 'invariant',
  lease: 'lease',
  exception: 'exception',
  subject: 'subject',
  operation: 'operation',
  subResource: 'subResource',
  dryRun: 'dryRun',
  durationMs: 'durationMs',
  // Objects
  apiVersion: 'apiVersion',
  kind: 'kind',
  namespace: 'namespace',
  name: 'name',
  resourceVersion: 'resourceVersion',
  generation: 'generation',
  // Runtime
  component: 'component',
  controller: 'controller',
  reconcileId: 'reconcileId',
  key: 'key',
  attempt: 'attempt',
  requeueAfterMs: 'requeueAfterMs',
  result: 'result',
  identity: 'identity',
  holder: 'holder',
  reason: 'reason',
  delayMs: 'delayMs',
  // Events
  eventType: 'eventType',
  eventReason: 'eventReason',
  count: 'count',
  // Errors
  error: 'error',
  errorKind: 'errorKind',
  status: 'status',
  stack: 'stack',
} as const;

export type LogKey = (typeof LogKeys)[keyof typeof LogKeys];
