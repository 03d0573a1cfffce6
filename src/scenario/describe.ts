// How a scenario step reads in a report: where it acts, what it expects, one short line for the table.

import type { RequestStep, Step } from './model.js';

/** `Kind namespace/name` or `Kind name`. */
export function refText(ref: { readonly kind: string; readonly namespace?: string; readonly name: string }): string {
  return `${ref.kind} ${ref.namespace === undefined ? '' : `${ref.namespace}/`}${ref.name}`;
}

type Body = Record<string, unknown> & { metadata?: Record<string, unknown> };

function bodyMetadata(step: RequestStep): Record<string, unknown> {
  const body = step.body as Body | undefined;
  return body?.metadata ?? {};
}

/** The namespace a step acts in: its own, else the body's. */
export function stepNamespace(step: RequestStep): string | undefined {
  const fromBody = bodyMetadata(step).namespace;
  return step.namespace ?? (typeof fromBody === 'string' ? fromBody : undefined);
}

/** The name a step acts on: its own, else (create) the body's. */
export function stepName(step: RequestStep): string | undefined {
  const fromBody = bodyMetadata(step).name;
  return step.name ?? (typeof fromBody === 'string' ? fromBody : undefined);
}

/** Short text of a step for the report. */
export function describeStep(step: Step): string {
  if (step.type === 'check') {
    const what = step.path ?? '';
    const cond = !step.exists ? 'absent' : step.hasEquals ? `== ${JSON.stringify(step.equals)}` : 'exists';
    return `check ${refText({ kind: step.kind, namespace: step.namespace, name: step.name })}${what === '' ? '' : ` ${what}`} ${cond}`;
  }
  const name = stepName(step) ?? (step.labelSelector === undefined ? '*' : `-l ${step.labelSelector}`);
  const sub = step.subresource === undefined ? '' : `/${step.subresource}`;
  return `${step.as} ${step.do}${step.patchType === undefined ? '' : `(${step.patchType})`} ${refText({ kind: step.kind, namespace: stepNamespace(step), name })}${sub}`;
}

/** What a step expects, short, for the table. */
export function expectedText(step: Step): string {
  if (step.type === 'request') return step.expect;
  if (!step.exists) return 'absent';
  return step.hasEquals ? `= ${JSON.stringify(step.equals)}` : 'exists';
}
