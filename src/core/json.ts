// JSON values: equality and JSON pointers (RFC 6901). One module for the core, the controller and the scenario
// format, so that "the value at /spec/replicas" and "unchanged" mean the same everywhere. Pure.

/** The result of a pointer lookup: a value (which may be null) or nothing there. */
export type Lookup = { readonly found: true; readonly value: unknown } | { readonly found: false };

export class PointerError extends Error {
  override readonly name = 'PointerError';
}

function unescapeToken(token: string): string {
  return token.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** A reference token escaped for a pointer: "~" → "~0", "/" → "~1" (`suture.dev/lease` → `suture.dev~1lease`). */
export function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** The tokens of a pointer: "" → [], "/a/b~1c" → ["a", "b/c"]. Throws PointerError when it does not start with "/". */
export function pointerTokens(pointer: string): string[] {
  if (pointer !== '' && !pointer.startsWith('/')) throw new PointerError(`JSON pointer must start with "/": "${pointer}"`);
  return pointerSegments(pointer);
}

/**
 * The tokens of a pointer, never throwing: a missing leading "/" is read as if it were there. For the decision core,
 * whose pointers were validated when their policy or lease was admitted.
 */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  const body = pointer.startsWith('/') ? pointer.slice(1) : pointer;
  return body.split('/').map(unescapeToken);
}

const ARRAY_INDEX = /^(0|[1-9]\d*)$/;

function child(value: unknown, token: string): Lookup {
  if (Array.isArray(value)) {
    if (!ARRAY_INDEX.test(token)) return { found: false };
    const index = Number(token);
    return index < value.length ? { found: true, value: value[index] } : { found: false };
  }
  if (value !== null && typeof value === 'object' && Object.hasOwn(value, token)) {
    return { found: true, value: (value as Record<string, unknown>)[token] };
  }
  return { found: false };
}

/** The value at `pointer` in `document`, or not found (a missing key, an index out of range, a path through a scalar). */
export function lookupPointer(document: unknown, pointer: string): Lookup {
  let current: Lookup = { found: true, value: document };
  for (const token of pointerSegments(pointer)) {
    if (!current.found) return current;
    current = child(current.value, token);
  }
  return current;
}

/** The value at `pointer`, or undefined when nothing is there. */
export function valueAt(document: unknown, pointer: string): unknown {
  const at = lookupPointer(document, pointer);
  return at.found ? at.value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function keysOf(record: Record<string, unknown>, undefinedIsAbsent: boolean): string[] {
  const keys = Object.keys(record);
  return undefinedIsAbsent ? keys.filter((k) => record[k] !== undefined) : keys;
}

function deepEqual(a: unknown, b: unknown, undefinedIsAbsent: boolean): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i], undefinedIsAbsent));
  }
  if (!isRecord(a) || !isRecord(b)) return false;
  const ka = keysOf(a, undefinedIsAbsent);
  const kb = keysOf(b, undefinedIsAbsent);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k], undefinedIsAbsent));
}

/**
 * Deep equality of JSON values: same types, same scalars, arrays in order, objects with the same members in any
 * order. A member whose value is undefined counts as absent, as JSON.stringify drops it (desired states built in
 * code carry such members).
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return deepEqual(a, b, true);
}

/** Like jsonEqual, but a member set to undefined differs from an absent one: for values read from documents. */
export function jsonEqualStrict(a: unknown, b: unknown): boolean {
  return deepEqual(a, b, false);
}
