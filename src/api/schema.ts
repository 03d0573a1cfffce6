// The single source of truth of the suture.dev/v1alpha1 API. From these TypeBox schemas come the TypeScript types
// (src/api/types.ts, by Static<>), the ajv validators (src/core/validate.ts) and the CRD manifests in crds/
// (scripts/gen-manifests.ts, `make manifests`). Keep every schema structural in the Kubernetes sense: each node has
// a `type`, enums instead of unions of literals, no $ref.
import { Type, type TSchema, type TUnsafe, type ObjectOptions, type TProperties, type TObject } from '@sinclair/typebox';

export const GROUP = 'suture.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** A string restricted to the given values, rendered as `enum` (structural), typed as their union. */
export function StringEnum<const T extends readonly string[]>(values: T, options: { default?: T[number]; description?: string } = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** An object that refuses unknown fields; Kubernetes prunes them, Suture's own validation reports them. */
function Strict<T extends TProperties>(properties: T, options: ObjectOptions = {}): TObject<T> {
  return Type.Object(properties, { additionalProperties: false, ...options });
}

const StringList = (options: { description?: string; minItems?: number } = {}): ReturnType<typeof Type.Array<ReturnType<typeof Type.String>>> =>
  Type.Array(Type.String(), options);

/** A JSON pointer (RFC 6901) into an object, e.g. /spec/replicas. */
const JsonPointer = Type.String({ pattern: '^(/([^~/]|~[01])*)+$', description: 'JSON pointer (RFC 6901), e.g. /spec/replicas' });

/** A Go-style duration: 90s, 10m, 2h, 1h30m. */
const Duration = Type.String({ pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$', description: 'duration such as 30s, 10m, 2h, 1h30m' });

const Timestamp = Type.String({ format: 'date-time' });

export const SubjectKinds = ['ServiceAccount', 'User', 'Group'] as const;
export const Subject = Strict(
  {
    kind: StringEnum(SubjectKinds),
    name: Type.String({ minLength: 1, description: '"*" means any service account in the namespace' }),
    namespace: Type.Optional(Type.String()),
  },
  { description: "An identity, in RBAC's shape." },
);

export const SelectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
export const LabelSelector = Strict({
  matchLabels: Type.Optional(Type.Record(Type.String(), Type.String())),
  matchExpressions: Type.Optional(
    Type.Array(Strict({ key: Type.String({ minLength: 1 }), operator: StringEnum(SelectorOperators), values: Type.Optional(StringList()) })),
  ),
});

const objectSelectorFields = {
  apiGroups: Type.Optional(StringList({ description: 'API groups; "" is the core group. Empty: any.' })),
  kinds: Type.Optional(StringList({ description: 'Kinds (not resource names). Empty: any.' })),
  namespaces: Type.Optional(StringList()),
  namespaceSelector: Type.Optional(LabelSelector),
  names: Type.Optional(StringList()),
  namePrefixes: Type.Optional(StringList()),
  selector: Type.Optional(LabelSelector),
};
export const ObjectSelector = Strict(objectSelectorFields, { description: 'Objects by group, kind, namespace, name and labels; an empty field matches any.' });
export const LeaseResource = Strict(
  { ...objectSelectorFields, fields: Type.Optional(Type.Array(JsonPointer, { description: 'Only changes to these paths are leased.' })) },
  { description: 'A set of objects (and optionally fields of them) a lease covers.' },
);

export const Condition = Strict({
  type: Type.String({ minLength: 1 }),
  status: StringEnum(['True', 'False', 'Unknown'] as const),
  reason: Type.String(),
  message: Type.String(),
  lastTransitionTime: Timestamp,
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
});

// ---------------------------------------------------------------------------------------------------- SutureLease

export const LeaseAccess = ['Exclusive', 'Shared'] as const;
export const LeaseEnforce = ['ServiceAccounts', 'Everyone'] as const;
export const LeaseRbac = ['Generate', 'None'] as const;
export const LeaseNetwork = ['None', 'Isolate'] as const;
export const LeasePhases = ['Pending', 'Granted', 'Conflicted', 'Expired', 'Invalid'] as const;

export const SutureLeaseSpec = Strict({
  holder: Subject,
  resources: Type.Array(LeaseResource, { minItems: 1 }),
  access: Type.Optional(StringEnum(LeaseAccess, { default: 'Exclusive' })),
  enforce: Type.Optional(StringEnum(LeaseEnforce, { default: 'ServiceAccounts' })),
  duration: Type.Optional(Duration),
  renewTime: Type.Optional(Type.Unsafe<string | null>({ type: 'string', format: 'date-time', nullable: true, description: 'update to renew a lease with a duration' })),
  rbac: Type.Optional(StringEnum(LeaseRbac, { default: 'Generate' })),
  network: Type.Optional(StringEnum(LeaseNetwork, { default: 'None' })),
});

export const ObjectReference = Strict({ kind: Type.String(), namespace: Type.Optional(Type.String()), name: Type.String() });

export const SutureLeaseStatus = Strict({
  phase: Type.Optional(StringEnum(LeasePhases)),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  conditions: Type.Optional(Type.Array(Condition)),
  grantedAt: Type.Optional(Timestamp),
  expiresAt: Type.Optional(Timestamp),
  conflictsWith: Type.Optional(Type.Array(Strict({ namespace: Type.String(), name: Type.String(), holder: Subject }))),
  generated: Type.Optional(Type.Array(ObjectReference)),
  excessPermissions: Type.Optional(
    Type.Array(
      Strict({
        verbs: StringList(),
        apiGroups: StringList(),
        resources: StringList(),
        namespace: Type.Optional(Type.String()),
        via: Type.String({ description: 'the binding that grants it, e.g. ClusterRoleBinding/x' }),
      }),
    ),
  ),
});

// --------------------------------------------------------------------------------------------------- SuturePolicy

export const Enforcements = ['Deny', 'Warn', 'Audit'] as const;
export const FailurePolicies = ['Fail', 'Ignore'] as const;
export const Operations = ['CREATE', 'UPDATE', 'DELETE'] as const;
export const Directions = ['Increase', 'Decrease'] as const;
export const BudgetScopes = ['Subject', 'Policy'] as const;

export const Invariant = Strict(
  {
    name: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 }),
    protect: Type.Optional(Strict({}, { description: 'Matched objects are not removed (or changed, for UPDATE).' })),
    minAvailable: Type.Optional(
      Strict(
        { count: Type.Optional(Type.Integer({ minimum: 0 })), percent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })) },
        { description: 'Ready replicas/pods of the matched workloads after the request.' },
      ),
    ),
    monotonic: Type.Optional(Strict({ paths: Type.Array(JsonPointer, { minItems: 1 }), direction: StringEnum(Directions) })),
    immutable: Type.Optional(Strict({ paths: Type.Array(JsonPointer, { minItems: 1 }) })),
    maxCascade: Type.Optional(Strict({ count: Type.Integer({ minimum: 0 }) }, { description: 'Objects one request may remove in all.' })),
    budget: Type.Optional(
      Strict({
        count: Type.Integer({ minimum: 0 }),
        window: Duration,
        per: Type.Optional(StringEnum(BudgetScopes, { default: 'Subject' })),
      }),
    ),
    expression: Type.Optional(Type.String({ minLength: 1, description: 'CEL; must evaluate to true.' })),
    message: Type.Optional(Type.String()),
    messageExpression: Type.Optional(Type.String({ minLength: 1 })),
    avert: Type.Optional(
      Strict({
        set: Type.Array(
          Strict({ path: JsonPointer, value: Type.Optional(Type.String()), valueExpression: Type.Optional(Type.String({ minLength: 1 })) }),
          { minItems: 1 },
        ),
      }),
    ),
  },
  {
    'x-kubernetes-validations': [
      {
        rule: "[has(self.protect), has(self.minAvailable), has(self.monotonic), has(self.immutable), has(self.maxCascade), has(self.budget), has(self.expression)].filter(x, x).size() == 1",
        message: 'an invariant has exactly one of protect, minAvailable, monotonic, immutable, maxCascade, budget, expression',
      },
    ],
  },
);

/** The kinds of invariant, in the order the schema lists them. */
export const InvariantKinds = ['protect', 'minAvailable', 'monotonic', 'immutable', 'maxCascade', 'budget', 'expression'] as const;

export const PolicyCondition = Strict(
  {
    schedule: Type.Optional(
      Strict({
        cron: Type.String({ minLength: 1, description: 'five-field cron expression' }),
        duration: Duration,
        timeZone: Type.Optional(Type.String({ description: 'IANA time zone, default UTC' })),
      }),
    ),
    expression: Type.Optional(Type.String({ minLength: 1 })),
    metric: Type.Optional(
      Strict({
        url: Type.String({ minLength: 1, description: 'Prometheus base URL' }),
        query: Type.String({ minLength: 1 }),
        below: Type.Optional(Type.Number()),
        above: Type.Optional(Type.Number()),
        staleAfter: Type.Optional(Duration),
      }),
    ),
  },
  {
    'x-kubernetes-validations': [
      { rule: '[has(self.schedule), has(self.expression), has(self.metric)].filter(x, x).size() == 1', message: 'a condition has exactly one of schedule, expression, metric' },
    ],
  },
);

export const SuturePolicySpec = Strict({
  enforcement: Type.Optional(StringEnum(Enforcements, { default: 'Deny' })),
  failurePolicy: Type.Optional(
    StringEnum(FailurePolicies, { default: 'Fail', description: 'What a request gets when the policy cannot be decided (stale state, metric unavailable): Fail denies, Ignore allows; both are recorded.' }),
  ),
  subjects: Type.Optional(Type.Array(Subject)),
  match: Type.Array(ObjectSelector, { minItems: 1 }),
  operations: Type.Optional(Type.Array(StringEnum(Operations))),
  invariants: Type.Array(Invariant, { minItems: 1, maxItems: 64 }),
  enforceWhen: Type.Optional(Type.Array(PolicyCondition, { maxItems: 16 })),
  relaxWhen: Type.Optional(Type.Array(PolicyCondition, { maxItems: 16 })),
});

export const FieldError = Strict({ path: Type.String(), message: Type.String() });

export const SuturePolicyStatus = Strict({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  conditions: Type.Optional(Type.Array(Condition)),
  errors: Type.Optional(Type.Array(FieldError)),
  decisions: Type.Optional(
    Strict({
      denied: Type.Optional(Type.Integer({ minimum: 0 })),
      warned: Type.Optional(Type.Integer({ minimum: 0 })),
      audited: Type.Optional(Type.Integer({ minimum: 0 })),
      lastDenied: Type.Optional(Strict({ at: Timestamp, subject: Type.String(), request: Type.String(), decisionId: Type.String() })),
    }),
  ),
});

// ------------------------------------------------------------------------------------------------ SutureException

export const SutureExceptionSpec = Strict(
  {
    policies: Type.Optional(StringList()),
    leases: Type.Optional(Type.Array(Strict({ namespace: Type.String({ minLength: 1 }), name: Type.String({ minLength: 1 }) }))),
    subjects: Type.Array(Subject, { minItems: 1 }),
    match: Type.Optional(Type.Array(ObjectSelector)),
    expiresAt: Timestamp,
    reason: Type.String({ minLength: 1 }),
  },
  {
    'x-kubernetes-validations': [
      { rule: '(has(self.policies) && size(self.policies) > 0) || (has(self.leases) && size(self.leases) > 0)', message: 'an exception names at least one policy or lease' },
    ],
  },
);

export const SutureExceptionStatus = Strict({
  active: Type.Optional(Type.Boolean()),
  reason: Type.Optional(Type.String()),
  uses: Type.Optional(Type.Integer({ minimum: 0 })),
  lastUsed: Type.Optional(Timestamp),
  conditions: Type.Optional(Type.Array(Condition)),
});

// ------------------------------------------------------------------------------------------------------- the kinds

export interface KindDefinition {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly scope: 'Namespaced' | 'Cluster';
  readonly spec: TSchema;
  readonly status: TSchema;
  readonly printerColumns: readonly { name: string; type: string; jsonPath: string; description?: string; priority?: number }[];
}

const age = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export const KINDS: readonly KindDefinition[] = [
  {
    kind: 'SutureLease',
    plural: 'sutureleases',
    singular: 'suturelease',
    shortNames: ['sl'],
    scope: 'Namespaced',
    spec: SutureLeaseSpec,
    status: SutureLeaseStatus,
    printerColumns: [
      { name: 'Holder', type: 'string', jsonPath: '.spec.holder.name' },
      { name: 'Access', type: 'string', jsonPath: '.spec.access' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      age,
      // `date` columns print ages and show <invalid> for future times: expiry is shown as the timestamp.
      { name: 'Expires', type: 'string', jsonPath: '.status.expiresAt', priority: 1 },
    ],
  },
  {
    kind: 'SuturePolicy',
    plural: 'suturepolicies',
    singular: 'suturepolicy',
    shortNames: ['sp'],
    scope: 'Cluster',
    spec: SuturePolicySpec,
    status: SuturePolicyStatus,
    printerColumns: [
      { name: 'Enforcement', type: 'string', jsonPath: '.spec.enforcement' },
      { name: 'Ready', type: 'string', jsonPath: ".status.conditions[?(@.type=='Ready')].status" },
      { name: 'Denied', type: 'integer', jsonPath: '.status.decisions.denied' },
      age,
    ],
  },
  {
    kind: 'SutureException',
    plural: 'sutureexceptions',
    singular: 'sutureexception',
    shortNames: ['sx'],
    scope: 'Cluster',
    spec: SutureExceptionSpec,
    status: SutureExceptionStatus,
    printerColumns: [
      { name: 'Active', type: 'boolean', jsonPath: '.status.active' },
      { name: 'Expires', type: 'string', jsonPath: '.spec.expiresAt' },
      { name: 'Uses', type: 'integer', jsonPath: '.status.uses' },
      { name: 'Reason', type: 'string', jsonPath: '.spec.reason', priority: 1 },
      age,
    ],
  },
];
