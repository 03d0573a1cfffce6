// Ordering resourceVersions. Kubernetes documents them as opaque strings; the API server hands out etcd's revisions,
// decimal integers, and Suture relies on that only to tell which of two versions it has seen is the later.

/**
 * Compares two resourceVersions when both are decimal integers (as etcd's revisions are): -1, 0 or 1; undefined when
 * either is not numeric (the caller then takes the one reported last).
 */
export function compareResourceVersions(a: string, b: string): -1 | 0 | 1 | undefined {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
