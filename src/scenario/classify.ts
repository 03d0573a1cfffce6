// Who answered a request, and did the step get what it expected? A denial counts only when it came from Suture's
// own admission webhooks (named *.suture.dev); RBAC, validation and other admission plugins are told apart.

import type { Exchange } from '../kube/client.js';
import type { CheckStep, Expectation, RequestStep } from './model.js';
import { jsonEqual, lookupPointer } from './pointer.js';

/** A response as the API server gave it (RawObjectApi.exchange), or as `kubectl suture test` answers offline. */
export type ApiResponse = Exchange;

export const OUTCOMES = ['allowed', 'warned', 'denied', 'rbac', 'forbidden', 'other-webhook', 'webhook-error', 'invalid', 'not-found', 'conflict', 'error'] as const;
/** `denied` means denied by Suture; every other refusal has its own outcome. */
export type Outcome = (typeof OUTCOMES)[number];

export interface Classified {
  readonly outcome: Outcome;
  /** The denial message (Status.message), or the warnings joined with "; ". */
  readonly message: string;
  /** The admission webhook that denied or failed, when there was one. */
  readonly webhook?: string;
}

/** Suture's webhooks are named `<something>.suture.dev`. */
export const SUTURE_WEBHOOK_SUFFIX = '.suture.dev';

const WEBHOOK_DENIED = /admission webhook "([^"]+)" denied the request/;
const WEBHOOK_FAILED = /failed calling webhook "([^"]+)"/;
const RBAC_REFUSAL = /\bcannot [a-z]+ resource "/;

export function isSutureWebhook(name: string): boolean {
  return name === 'suture.dev' || name.endsWith(SUTURE_WEBHOOK_SUFFIX);
}

/** Status.message of an error body, or the raw text. */
export function statusMessage(body: unknown): string {
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : JSON.stringify(body ?? '');
}

/**
 * A warning is Suture's when it mentions Suture or one of the scenario's Suture objects (a policy, invariant or
 * lease name): the API server does not say which webhook a warning came from, and it emits warnings of its own.
 */
export function isSutureWarning(warning: string, sutureNames: readonly string[]): boolean {
  const text = warning.toLowerCase();
  return text.includes('suture') || sutureNames.some((name) => name !== '' && text.includes(name.toLowerCase()));
}

function classifyFailure(status: number, message: string): Classified {
  const denied = WEBHOOK_DENIED.exec(message);
  if (denied !== null) {
    const webhook = denied[1] ?? '';
    return { outcome: isSutureWebhook(webhook) ? 'denied' : 'other-webhook', message, webhook };
  }
  const failed = WEBHOOK_FAILED.exec(message);
  if (failed !== null) return { outcome: 'webhook-error', message, webhook: failed[1] ?? '' };
  if (status === 403) return { outcome: RBAC_REFUSAL.test(message) ? 'rbac' : 'forbidden', message };
  if (status === 422) return { outcome: 'invalid', message };
  if (status === 404) return { outcome: 'not-found', message };
  if (status === 409) return { outcome: 'conflict', message };
  return { outcome: 'error', message };
}

export function classify(response: ApiResponse, sutureNames: readonly string[]): Classified {
  if (response.status >= 200 && response.status < 300) {
    const warned = response.warnings.some((w) => isSutureWarning(w, sutureNames));
    return { outcome: warned ? 'warned' : 'allowed', message: response.warnings.join('; ') };
  }
  return classifyFailure(response.status, statusMessage(response.body));
}

const EXPLANATIONS: Readonly<Record<Outcome, (classified: Classified, status: number) => string>> = {
  allowed: () => 'allowed',
  warned: () => 'allowed with a Suture warning',
  denied: (c) => `denied by Suture (${c.webhook ?? ''})`,
  rbac: () => 'refused by RBAC, not Suture',
  forbidden: () => 'forbidden by the API server (an admission plugin or policy), not Suture',
  'other-webhook': (c) => `denied by admission webhook "${c.webhook ?? ''}", not Suture`,
  'webhook-error': (c) => `calling webhook "${c.webhook ?? ''}" failed: no decision was taken`,
  invalid: () => 'rejected by validation (422), not Suture',
  'not-found': () => 'not found (404)',
  conflict: () => 'conflict or already exists (409)',
  error: (_c, status) => `API error (${status})`,
};

/** Why an outcome is not what was expected, in words. */
export function explainOutcome(classified: Classified, status: number): string {
  return EXPLANATIONS[classified.outcome](classified, status);
}

export interface Verdict {
  readonly pass: boolean;
  /** What happened, short: an outcome or a check's observed value. */
  readonly got: string;
  /** The denial or warning message, or the observed state. */
  readonly message: string;
  /** Why it failed (or what passed), in words. */
  readonly reason: string;
}

function missingSubstrings(message: string, wanted: readonly string[]): string[] {
  return wanted.filter((part) => !message.includes(part));
}

function outcomeMatches(expect: Expectation, outcome: Outcome): boolean {
  if (expect === 'allowed') return outcome === 'allowed' || outcome === 'warned';
  return expect === outcome;
}

/** The verdict of a request step from its response. */
export function judgeRequest(step: RequestStep, response: ApiResponse, sutureNames: readonly string[]): Verdict {
  const classified = classify(response, sutureNames);
  const explained = explainOutcome(classified, response.status);
  const base = { got: classified.outcome, message: classified.message };
  if (!outcomeMatches(step.expect, classified.outcome)) {
    const extra = step.expect === 'warned' && classified.outcome === 'allowed' && response.warnings.length > 0 ? ' (its warnings do not name Suture or the scenario\'s Suture objects)' : '';
    return { ...base, pass: false, reason: `expected ${step.expect}, got ${explained}${extra}` };
  }
  const missing = missingSubstrings(classified.message, step.messageIncludes);
  if (missing.length > 0) return { ...base, pass: false, reason: `${explained}, but the message lacks ${missing.map((m) => JSON.stringify(m)).join(', ')}` };
  return { ...base, pass: true, reason: explained };
}

/** What a check read: the object (undefined when it does not exist). */
export interface Observed {
  readonly object: unknown;
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
}

function judgeAbsence(step: CheckStep, observed: Observed): Verdict {
  if (observed.object === undefined) return { pass: true, got: 'absent', message: '', reason: 'the object does not exist' };
  if (step.path === undefined) return { pass: false, got: 'present', message: '', reason: 'expected the object to be gone' };
  const at = lookupPointer(observed.object, step.path);
  if (!at.found) return { pass: true, got: 'absent', message: '', reason: `${step.path} is not set` };
  return { pass: false, got: show(at.value), message: '', reason: `expected ${step.path} to be absent` };
}

function judgePresence(step: CheckStep, observed: Observed): Verdict {
  if (observed.object === undefined) return { pass: false, got: 'absent', message: '', reason: 'the object does not exist' };
  const path = step.path ?? '';
  const at = lookupPointer(observed.object, path);
  if (!at.found) return { pass: false, got: 'unset', message: '', reason: `${path} is not set` };
  if (!step.hasEquals) return { pass: true, got: step.path === undefined ? 'present' : show(at.value), message: '', reason: 'present' };
  const pass = jsonEqual(at.value, step.equals);
  return { pass, got: show(at.value), message: '', reason: pass ? 'equal' : `expected ${show(step.equals)}, got ${show(at.value)}` };
}

/** The verdict of one reading of a check (the runner polls until it passes or `within` is over). */
export function judgeCheck(step: CheckStep, observed: Observed): Verdict {
  return step.exists ? judgePresence(step, observed) : judgeAbsence(step, observed);
}
