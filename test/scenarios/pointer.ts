// JSON pointers (RFC 6901) and JSON value equality, for checks.

export type Lookup = { readonly found: true; readonly value: unknown } | { readonly found: false };

/** The tokens of a pointer: "" → [], "/a/b~1c" → ["a", "b/c"]. */
export function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`JSON pointer must start with "/": "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function child(value: unknown, token: string): Lookup {
  if (Array.isArray(value)) {
    if (!/^(0|[1-9]\d*)$/.test(token)) return { found: false };
    const index = Number(token);
    return index < value.length ? { found: true, value: value[index] } : { found: false };
  }
  if (value !== null && typeof value === 'object' && Object.hasOwn(value, token)) {
    return { found: true, value: (value as Record<string, unknown>)[token] };
  }
  return { found: false };
}

/** The value at `pointer` in `document`, or not found. */
export function lookupPointer(document: unknown, pointer: string): Lookup {
  let current: Lookup = { found: true, value: document };
  for (const token of pointerTokens(pointer)) {
    if (!current.found) return current;
    current = child(current.value, token);
  }
  return current;
}

/** Equality of JSON values: same type, same scalars, arrays in order, objects with the same keys (any order). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const aKeys = Object.keys(a);
  const bRecord = b as Record<string, unknown>;
  return aKeys.length === Object.keys(b).length && aKeys.every((key) => Object.hasOwn(b, key) && jsonEqual((a as Record<string, unknown>)[key], bRecord[key]));
}
