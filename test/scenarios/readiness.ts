// When a Suture object is ready for the steps: a policy is Ready, a lease has left Pending, an exception has a status.

export interface Readiness {
  readonly ready: boolean;
  /** The state seen, for the timeout message. */
  readonly state: string;
}

interface Condition {
  type?: unknown;
  status?: unknown;
  reason?: unknown;
  message?: unknown;
}

function statusOf(object: unknown): Record<string, unknown> | undefined {
  const status = (object as { status?: unknown } | undefined)?.status;
  return status !== null && typeof status === 'object' && !Array.isArray(status) ? (status as Record<string, unknown>) : undefined;
}

function policyReadiness(status: Record<string, unknown> | undefined): Readiness {
  const conditions = Array.isArray(status?.conditions) ? (status.conditions as Condition[]) : [];
  const ready = conditions.find((c) => c.type === 'Ready');
  if (ready === undefined) return { ready: false, state: 'no Ready condition yet' };
  const detail = [ready.reason, ready.message].filter((part) => typeof part === 'string' && part !== '').join(': ');
  return { ready: ready.status === 'True', state: `Ready=${String(ready.status)}${detail === '' ? '' : ` (${detail})`}` };
}

function leaseReadiness(status: Record<string, unknown> | undefined): Readiness {
  const phase = status?.phase;
  if (typeof phase !== 'string' || phase === '') return { ready: false, state: 'no phase yet' };
  return { ready: phase !== 'Pending', state: `phase ${phase}` };
}

export function sutureReadiness(kind: string, object: unknown): Readiness {
  const status = statusOf(object);
  if (kind === 'SuturePolicy') return policyReadiness(status);
  if (kind === 'SutureLease') return leaseReadiness(status);
  if (kind === 'SutureException') {
    const ready = status !== undefined && Object.keys(status).length > 0;
    return { ready, state: ready ? 'has a status' : 'no status yet' };
  }
  return { ready: true, state: 'not a Suture kind that reports readiness' };
}
