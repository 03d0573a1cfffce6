// Templates in scenario strings, resolved just before an object or step is used:
//   {{uid Kind namespace/name}}  {{uid Kind name}}  {{now}}  {{now+90m}}  {{now-1h30m}}

import { parseDurationMs } from '../core/units.js';
import { rfc3339 } from './duration.js';

const TEMPLATE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const NOW = /^now(?:\s*([+-])\s*(\S+))?$/;
const UID = /^uid\s+(\S+)\s+(\S+)$/;

/** The uids of objects created so far, keyed by kind, namespace and name. */
export class UidRegistry {
  private readonly uids = new Map<string, string>();

  record(kind: string, namespace: string | undefined, name: string, uid: string): void {
    this.uids.set(UidRegistry.key(kind, namespace, name), uid);
  }

  /** Exact kind first, then case-insensitive (`postgresql` vs `Postgresql`). */
  lookup(kind: string, namespace: string | undefined, name: string): string | undefined {
    const exact = this.uids.get(UidRegistry.key(kind, namespace, name));
    if (exact !== undefined) return exact;
    const wanted = UidRegistry.key(kind, namespace, name).toLowerCase();
    for (const [key, uid] of this.uids) if (key.toLowerCase() === wanted) return uid;
    return undefined;
  }

  private static key(kind: string, namespace: string | undefined, name: string): string {
    return `${kind}|${namespace ?? ''}|${name}`;
  }
}

export interface TemplateContext {
  readonly uids: UidRegistry;
  /** Milliseconds since the epoch that `{{now}}` means: the scenario's clock, or real time. */
  now(): number;
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

function resolveUid(kind: string, ref: string, ctx: TemplateContext): string {
  const slash = ref.indexOf('/');
  const namespace = slash >= 0 ? ref.slice(0, slash) : undefined;
  const name = slash >= 0 ? ref.slice(slash + 1) : ref;
  const uid = ctx.uids.lookup(kind, namespace, name);
  if (uid === undefined) throw new TemplateError(`{{uid ${kind} ${ref}}}: no ${kind} ${ref} was created before this point (templates can only name objects created earlier in setup, suture or steps)`);
  return uid;
}

/** `now`, or `now` plus or minus a duration (core/units: 90s, 10m, 1h30m, 2d); undefined when the offset is not one. */
function resolveNow(sign: string | undefined, duration: string | undefined, ctx: TemplateContext): string | undefined {
  if (sign === undefined) return rfc3339(ctx.now());
  const offset = parseDurationMs(duration ?? '');
  if (offset === undefined) return undefined;
  return rfc3339(ctx.now() + (sign === '-' ? -offset : offset));
}

/** The value of one template expression (the text between the braces). */
export function resolveExpression(expression: string, ctx: TemplateContext): string {
  const now = NOW.exec(expression);
  const instant = now === null ? undefined : resolveNow(now[1], now[2], ctx);
  if (instant !== undefined) return instant;
  const uid = UID.exec(expression);
  if (uid !== null) return resolveUid(uid[1] ?? '', uid[2] ?? '', ctx);
  throw new TemplateError(`unknown template {{${expression}}}: use {{uid Kind namespace/name}}, {{uid Kind name}}, {{now}} or {{now±<duration>}} (e.g. 90s, 10m, 1h30m, 2d)`);
}

export function resolveString(text: string, ctx: TemplateContext): string {
  return text.replace(TEMPLATE, (_match, expression: string) => resolveExpression(expression, ctx));
}

/** A deep copy of `value` with every template in every string (keys included) resolved. */
export function resolveTemplates<T>(value: T, ctx: TemplateContext): T {
  return resolveDeep(value, ctx) as T;
}

function resolveDeep(value: unknown, ctx: TemplateContext): unknown {
  if (typeof value === 'string') return resolveString(value, ctx);
  if (Array.isArray(value)) return value.map((item) => resolveDeep(item, ctx));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [resolveString(key, ctx), resolveDeep(item, ctx)]));
  }
  return value;
}
