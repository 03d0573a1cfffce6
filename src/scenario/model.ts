// The scenario format (docs/scenarios.md) as TypeScript types: what the parser produces and the runner reads.

export const VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection'] as const;
export type Verb = (typeof VERBS)[number];

export const EXPECTATIONS = ['allowed', 'denied', 'warned'] as const;
export type Expectation = (typeof EXPECTATIONS)[number];

export const PATCH_TYPES = ['merge', 'json', 'strategic'] as const;
export type PatchType = (typeof PATCH_TYPES)[number];

export const SUBRESOURCES = ['scale', 'status'] as const;
export type Subresource = (typeof SUBRESOURCES)[number];

export const PROPAGATION_POLICIES = ['Background', 'Foreground', 'Orphan'] as const;
export type PropagationPolicy = (typeof PROPAGATION_POLICIES)[number];

/** The identity that means "the cluster admin, not impersonated". */
export const ADMIN = 'admin';

/** Default of a check's `within`. */
export const DEFAULT_WITHIN_MS = 10_000;

/** Any Kubernetes object as written in a scenario (templates not yet resolved). */
export interface ScenarioObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [field: string]: unknown };
  [field: string]: unknown;
}

/** Where a step points: group/version, kind, and the object (or collection). */
export interface Target {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name?: string;
}

/** A request made as an identity. `index` is 1-based, as printed. */
export interface RequestStep extends Target {
  readonly type: 'request';
  readonly index: number;
  readonly as: string;
  readonly do: Verb;
  readonly propagationPolicy?: PropagationPolicy;
  readonly labelSelector?: string;
  readonly subresource?: Subresource;
  readonly patchType?: PatchType;
  readonly body?: unknown;
  readonly expect: Expectation;
  readonly messageIncludes: readonly string[];
}

/** A state assertion, read as admin and polled for up to `withinMs`. */
export interface CheckStep extends Target {
  readonly type: 'check';
  readonly index: number;
  readonly name: string;
  /** JSON pointer; undefined = the object itself. */
  readonly path?: string;
  /** Set when the file gives `equals` (which may be any JSON value, null included). */
  readonly hasEquals: boolean;
  readonly equals?: unknown;
  /** false for `exists: false`. */
  readonly exists: boolean;
  readonly withinMs: number;
}

export type Step = RequestStep | CheckStep;

export interface Scenario {
  /** The file it came from, for messages. */
  readonly file: string;
  readonly name: string;
  readonly summary: string;
  readonly source: string;
  /** RFC 3339, as written. */
  readonly clock?: string;
  readonly setup: readonly ScenarioObject[];
  readonly suture: readonly ScenarioObject[];
  readonly steps: readonly Step[];
}
