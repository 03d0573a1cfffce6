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

/** The same schema with a description of its own: a shared shape (a subject, a selector) means something else in each field. */
export function described<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description };
}

const StringList = (options: { description?: string; minItems?: number } = {}): ReturnType<typeof Type.Array<ReturnType<typeof Type.String>>> =>
  Type.Array(Type.String(), options);

/** A JSON pointer (RFC 6901) into an object, e.g. /spec/replicas. */
const JsonPointer = Type.String({ pattern: '^(/([^~/]|~[01])*)+$', description: 'A JSON pointer (RFC 6901) into the object, e.g. /spec/replicas; ~1 stands for / and ~0 for ~ in a key.' });

/** A Go-style duration: 90s, 10m, 2h, 1h30m. */
const Duration = Type.String({ pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$', description: 'A duration such as 30s, 10m, 2h or 1h30m.' });

const Timestamp = Type.String({ format: 'date-time', description: 'An RFC 3339 time, e.g. 2026-11-23T10:00:00Z.' });

export const SubjectKinds = ['ServiceAccount', 'User', 'Group'] as const;
export const Subject = Strict(
  {
    kind: StringEnum(SubjectKinds, { description: 'ServiceAccount, User or Group, as in an RBAC binding.' }),
    name: Type.String({
      minLength: 1,
      description: 'The name of the service account, user or group. "*" with kind ServiceAccount means every service account of the namespace.',
    }),
    namespace: Type.Optional(Type.String({ description: "The service account's namespace; required for kind ServiceAccount, unused for User and Group." })),
  },
  { description: "An identity, in RBAC's shape." },
);

export const SelectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
export const LabelSelector = Strict(
  {
    matchLabels: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Labels that must all be present with these values.' })),
    matchExpressions: Type.Optional(
      Type.Array(
        Strict(
          {
            key: Type.String({ minLength: 1, description: 'The label key the requirement applies to.' }),
            operator: StringEnum(SelectorOperators, { description: "How the label's value relates to values: In, NotIn, Exists or DoesNotExist." }),
            values: Type.Optional(StringList({ description: 'The values for In and NotIn; empty for Exists and DoesNotExist.' })),
          },
          { description: 'A label requirement: a key, an operator and values.' },
        ),
        { description: 'Label requirements that must all hold.' },
      ),
    ),
  },
  { description: "A label selector, as in a Deployment's spec.selector: matchLabels and matchExpressions must all hold; an empty selector matches everything." },
);

const objectSelectorFields = {
  apiGroups: Type.Optional(StringList({ description: 'API groups; "" is the core group. Empty: any.' })),
  kinds: Type.Optional(StringList({ description: 'Kinds (not resource names). Empty: any.' })),
  namespaces: Type.Optional(StringList({ description: 'Namespaces of the objects. Empty: any namespace, and cluster-scoped objects.' })),
  namespaceSelector: Type.Optional(described(LabelSelector, "Selects namespaces by the Namespace object's own labels; objects in a matching namespace match.")),
  names: Type.Optional(StringList({ description: 'Exact object names. Empty: any name.' })),
  namePrefixes: Type.Optional(StringList({ description: 'Object name prefixes, e.g. pg- for pg-data-0. Empty: any name.' })),
  selector: Type.Optional(described(LabelSelector, "Selects objects by their own labels.")),
};
export const ObjectSelector = Strict(objectSelectorFields, { description: 'Objects by group, kind, namespace, name and labels; an empty field matches any.' });
export const LeaseResource = Strict(
  {
    ...objectSelectorFields,
    fields: Type.Optional(
      Type.Array(JsonPointer, {
        description: 'JSON pointers of the leased parts of each object, e.g. /spec/replicas; only changes to them are refused to others. Empty: the whole object.',
      }),
    ),
  },
  { description: 'A set of objects (and optionally fields of them) a lease covers.' },
);

export const Condition = Strict(
  {
    type: Type.String({ minLength: 1, description: 'The aspect this condition reports, e.g. Ready, Granted or Active.' }),
    status: StringEnum(['True', 'False', 'Unknown'] as const, { description: 'True, False or Unknown.' }),
    reason: Type.String({ description: 'A CamelCase word for the last transition, e.g. Compiled or Conflicted.' }),
    message: Type.String({ description: 'A human-readable explanation of the reason.' }),
    lastTransitionTime: described(Timestamp, 'When status last changed (not when the condition was last written).'),
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, description: 'The metadata.generation this condition was computed from.' })),
  },
  { description: 'A standard Kubernetes condition (metav1.Condition).' },
);

const Conditions = Type.Array(Condition, { description: 'Standard conditions; kubectl wait --for=condition=<type> reads them.' });
const ObservedGeneration = Type.Integer({ minimum: 0, description: 'The metadata.generation of the spec this status was computed from.' });

// ---------------------------------------------------------------------------------------------------- SutureLease

export const LeaseAccess = ['Exclusive', 'Shared'] as const;
export const LeaseEnforce = ['ServiceAccounts', 'Everyone'] as const;
export const LeaseRbac = ['Generate', 'None'] as const;
export const LeaseNetwork = ['None', 'Isolate'] as const;
export const LeasePhases = ['Pending', 'Granted', 'Conflicted', 'Expired', 'Invalid'] as const;

export const SutureLeaseSpec = Strict(
  {
    holder: described(Subject, 'The one identity that owns the leased objects, usually the operator\'s ServiceAccount; not a wildcard.'),
    resources: Type.Array(LeaseResource, {
      minItems: 1,
      description: 'The leased objects: writes to them (or to their fields) by other governed identities are denied while the lease is Granted and Exclusive.',
    }),
    access: Type.Optional(
      StringEnum(LeaseAccess, {
        default: 'Exclusive',
        description: 'Exclusive (default): only the holder may write the objects, and overlapping Exclusive leases conflict. Shared: records ownership, denies nothing, never conflicts.',
      }),
    ),
    enforce: Type.Optional(
      StringEnum(LeaseEnforce, {
        default: 'ServiceAccounts',
        description: 'Whom the lease binds besides the holder: ServiceAccounts (default; humans are not bound) or Everyone (users and groups too).',
      }),
    ),
    duration: Type.Optional(
      described(Duration, 'How long the lease lasts after the later of its grant and renewTime, e.g. 30m; then it is Expired. Absent: it never expires.'),
    ),
    renewTime: Type.Optional(
      Type.Unsafe<string | null>({
        type: 'string',
        format: 'date-time',
        nullable: true,
        description: 'Set to the current time (RFC 3339) to renew a lease that has a duration; the lease then expires duration after it.',
      }),
    ),
    rbac: Type.Optional(
      StringEnum(LeaseRbac, {
        default: 'Generate',
        description: 'Generate (default): Suture writes Roles/ClusterRoles and bindings that give the holder exactly the rights on its leased objects. None: manage the rights yourself.',
      }),
    ),
    network: Type.Optional(
      StringEnum(LeaseNetwork, {
        default: 'None',
        description: "Isolate: a generated NetworkPolicy quarantines the holder's namespace (no ingress but metrics; egress only to the API server and DNS). None (default).",
      }),
    ),
  },
  { description: 'What the lease covers, who holds it and how it is enforced.' },
);

export const ObjectReference = Strict(
  {
    kind: Type.String({ description: 'The kind of the object, e.g. Role.' }),
    namespace: Type.Optional(Type.String({ description: 'Its namespace; absent for cluster-scoped objects.' })),
    name: Type.String({ description: 'Its name.' }),
  },
  { description: 'An object Suture generated for this lease.' },
);

export const SutureLeaseStatus = Strict(
  {
    phase: Type.Optional(
      StringEnum(LeasePhases, {
        description: 'Pending (not yet decided), Granted (in force), Conflicted (an older Exclusive lease overlaps; granted when it goes), Expired (duration passed without renewal) or Invalid (see the Granted condition).',
      }),
    ),
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(described(Conditions, 'Standard conditions: Granted.')),
    grantedAt: Type.Optional(described(Timestamp, 'When the lease was last granted.')),
    expiresAt: Type.Optional(described(Timestamp, 'When the lease expires unless renewed; absent without a duration.')),
    conflictsWith: Type.Optional(
      Type.Array(
        Strict(
          {
            namespace: Type.String({ description: "The rival lease's namespace." }),
            name: Type.String({ description: "The rival lease's name." }),
            holder: described(Subject, "The rival lease's holder: whom to ask."),
          },
          { description: 'A granted lease that overlaps this one.' },
        ),
        { description: 'When Conflicted: the leases that hold an overlapping scope, so the author knows whom to ask.' },
      ),
    ),
    generated: Type.Optional(Type.Array(ObjectReference, { description: 'The Roles, ClusterRoles, bindings and NetworkPolicies Suture wrote for this lease.' })),
    excessPermissions: Type.Optional(
      Type.Array(
        Strict(
          {
            verbs: StringList({ description: 'The verbs granted beyond the lease.' }),
            apiGroups: StringList({ description: 'Their API groups ("" is the core group).' }),
            resources: StringList({ description: 'Their resources.' }),
            namespace: Type.Optional(Type.String({ description: 'The namespace the right holds in; absent: cluster-wide.' })),
            via: Type.String({ description: 'The binding that grants it, e.g. ClusterRoleBinding/x.' }),
          },
          { description: 'A right of the holder that its leases do not need.' },
        ),
        { description: "The rights audit: the holder's effective RBAC beyond what its leases need, dangerous rights first." },
      ),
    ),
  },
  { description: 'What Suture observed: the phase, conditions, conflicts, generated objects and the rights audit. Written by Suture.' },
);

// --------------------------------------------------------------------------------------------------- SuturePolicy

export const Enforcements = ['Deny', 'Warn', 'Audit'] as const;
export const FailurePolicies = ['Fail', 'Ignore'] as const;
export const Operations = ['CREATE', 'UPDATE', 'DELETE'] as const;
export const Directions = ['Increase', 'Decrease'] as const;
export const BudgetScopes = ['Subject', 'Policy'] as const;

export const Invariant = Strict(
  {
    name: Type.String({
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
      maxLength: 63,
      description: 'A DNS label naming the invariant, unique in the policy; denials and decision records name it.',
    }),
    protect: Type.Optional(
      Strict({}, { description: 'Matched objects are not removed (DELETE, cascades included) or changed (UPDATE), as operations say. Written protect: {}.' }),
    ),
    minAvailable: Type.Optional(
      Strict(
        {
          count: Type.Optional(Type.Integer({ minimum: 0, description: 'At least this many ready replicas (or pods).' })),
          percent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'At least this percentage of the desired replicas (or of the matched pods) ready.' })),
        },
        {
          description: 'An availability floor: ready replicas of the matched workloads, or ready matched pods, after the request. A request that lowers them below it is refused; one that does not lower them passes.',
        },
      ),
    ),
    monotonic: Type.Optional(
      Strict(
        {
          paths: Type.Array(JsonPointer, { minItems: 1, description: 'JSON pointers to numbers or quantities (e.g. /spec/resources/requests/storage).' }),
          direction: StringEnum(Directions, { description: 'Increase: values may only grow (or stay). Decrease: they may only shrink (or stay).' }),
        },
        { description: 'Values at these paths of matched objects only move one way on UPDATE; removing one is a violation.' },
      ),
    ),
    immutable: Type.Optional(
      Strict(
        { paths: Type.Array(JsonPointer, { minItems: 1, description: 'JSON pointers that must keep their value (or stay absent).' }) },
        { description: 'Values at these paths of matched objects do not change on UPDATE.' },
      ),
    ),
    maxCascade: Type.Optional(
      Strict(
        { count: Type.Integer({ minimum: 0, description: 'The most objects one request may remove.' }) },
        { description: 'A blast-radius limit: one request may remove at most count objects in all, counting its cascade (owned objects, a namespace\'s contents, a CRD\'s resources).' },
      ),
    ),
    budget: Type.Optional(
      Strict(
        {
          count: Type.Integer({ minimum: 0, description: 'How many matching effects are allowed in the window.' }),
          window: described(Duration, 'The sliding window, e.g. 10m.'),
          per: Type.Optional(
            StringEnum(BudgetScopes, { default: 'Subject', description: 'Subject (default): each requester has its own budget. Policy: one budget shared by everyone.' }),
          ),
        },
        { description: 'A rate limit: at most count matching effects per window, counted across replicas; a request whose effects do not all fit is refused.' },
      ),
    ),
    expression: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'A CEL expression that must evaluate to true, over object, oldObject, request, impact, cluster, before, lease and now (docs/cel.md).',
      }),
    ),
    message: Type.Optional(Type.String({ description: 'The denial message when the invariant fails; default: what the check found.' })),
    messageExpression: Type.Optional(Type.String({ minLength: 1, description: 'A CEL expression giving the denial message as a string; wins over message.' })),
    avert: Type.Optional(
      Strict(
        {
          set: Type.Array(
            Strict(
              {
                path: described(JsonPointer, 'Where to write, e.g. /spec/replicas; missing parents are created.'),
                value: Type.Optional(Type.String({ description: 'A literal, read as JSON when it parses (2, true, {"a":1}), else as the string itself.' })),
                valueExpression: Type.Optional(Type.String({ minLength: 1, description: 'A CEL expression whose result is written; wins over value.' })),
              },
              { description: 'One write of the patch.' },
            ),
            { minItems: 1, description: 'The writes of the patch, in order.' },
          ),
        },
        {
          description: 'Instead of denying a CREATE or UPDATE that breaks the invariant, patch it (mutating webhook) and check again; allowed with a warning when the patched object holds, else denied.',
        },
      ),
    ),
  },
  {
    description: 'A named check on the state after the request; exactly one of protect, minAvailable, monotonic, immutable, maxCascade, budget, expression.',
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
      Strict(
        {
          cron: Type.String({ minLength: 1, description: 'A five-field cron expression (minute hour day-of-month month day-of-week) for when each window opens, e.g. "0 2 * * 6".' }),
          duration: described(Duration, 'How long each window stays open, e.g. 2h.'),
          timeZone: Type.Optional(Type.String({ description: 'The IANA time zone of cron, e.g. Europe/Berlin; default UTC.' })),
        },
        { description: 'Holds during time windows: from each cron time for duration.' },
      ),
    ),
    expression: Type.Optional(
      Type.String({ minLength: 1, description: 'Holds when this CEL expression is true; the same variables as an invariant\'s expression.' }),
    ),
    metric: Type.Optional(
      Strict(
        {
          url: Type.String({ minLength: 1, description: 'The Prometheus base URL, e.g. http://prometheus.monitoring:9090.' }),
          query: Type.String({ minLength: 1, description: 'An instant PromQL query returning one sample.' }),
          below: Type.Optional(Type.Number({ description: 'Holds when the sample is below this value.' })),
          above: Type.Optional(Type.Number({ description: 'Holds when the sample is above this value.' })),
          staleAfter: Type.Optional(described(Duration, 'A sample older than this cannot decide: the policy\'s failurePolicy applies. Default 2m.')),
        },
        { description: 'Holds when a Prometheus query is below and/or above a bound (at least one).' },
      ),
    ),
  },
  {
    description: 'A condition: exactly one of schedule, expression, metric.',
    'x-kubernetes-validations': [
      { rule: '[has(self.schedule), has(self.expression), has(self.metric)].filter(x, x).size() == 1', message: 'a condition has exactly one of schedule, expression, metric' },
    ],
  },
);

export const SuturePolicySpec = Strict(
  {
    enforcement: Type.Optional(
      StringEnum(Enforcements, {
        default: 'Deny',
        description: 'What a failed invariant does: Deny (default) refuses the request, Warn allows it with an admission warning, Audit allows it and only records it.',
      }),
    ),
    failurePolicy: Type.Optional(
      StringEnum(FailurePolicies, { default: 'Fail', description: 'What a request gets when the policy cannot be decided (stale state, metric unavailable): Fail denies, Ignore allows; both are recorded.' }),
    ),
    subjects: Type.Optional(
      Type.Array(described(Subject, 'A requester the policy binds.'), { description: 'The requesters the policy binds. Empty: every governed identity.' }),
    ),
    match: Type.Array(described(ObjectSelector, 'Objects this policy protects.'), {
      minItems: 1,
      description: 'The protected objects: the policy applies when an object of the request\'s impact (the target, its cascade, scale changes) matches one of these.',
    }),
    operations: Type.Optional(
      Type.Array(StringEnum(Operations, { description: 'CREATE, UPDATE or DELETE.' }), {
        description: 'The effects on matched objects the policy judges: CREATE, UPDATE, DELETE (removal by cascade counts as DELETE). Empty: all.',
      }),
    ),
    invariants: Type.Array(Invariant, { minItems: 1, maxItems: 64, description: 'Checks that must all hold after the request; each is evaluated and every failure is reported.' }),
    enforceWhen: Type.Optional(
      Type.Array(described(PolicyCondition, 'A condition that must hold for the policy to apply.'), {
        maxItems: 16,
        description: 'Conditions that must all hold for the policy to apply. Empty: always.',
      }),
    ),
    relaxWhen: Type.Optional(
      Type.Array(described(PolicyCondition, 'A condition that relaxes the policy while it holds.'), {
        maxItems: 16,
        description: 'Conditions any one of which relaxes the policy (it does not apply); the decision records which.',
      }),
    ),
  },
  { description: 'Whom the policy binds, what it protects, and the invariants that must hold.' },
);

export const FieldError = Strict(
  {
    path: Type.String({ description: 'The field, e.g. spec.invariants[5].expression.' }),
    message: Type.String({ description: 'What is wrong with it and, where it can, the fix.' }),
  },
  { description: 'An error in the spec.' },
);

export const SuturePolicyStatus = Strict(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(described(Conditions, 'Standard conditions: Ready (True/Compiled, or False with the errors).')),
    errors: Type.Optional(Type.Array(FieldError, { description: 'Every error that keeps the policy from compiling; a policy with errors enforces nothing.' })),
    decisions: Type.Optional(
      Strict(
        {
          denied: Type.Optional(Type.Integer({ minimum: 0, description: 'Requests this policy denied: one per request, however many of its invariants it broke.' })),
          warned: Type.Optional(Type.Integer({ minimum: 0, description: 'Requests this policy warned about, one per request (counted here even when another policy or a lease denied the request).' })),
          audited: Type.Optional(Type.Integer({ minimum: 0, description: 'Requests this policy recorded in Audit mode, one per request.' })),
          lastDenied: Type.Optional(
            Strict(
              {
                at: described(Timestamp, 'When.'),
                subject: Type.String({ description: 'The requester, e.g. system:serviceaccount:db-system:postgres-operator.' }),
                request: Type.String({ description: 'The request, e.g. DELETE PersistentVolumeClaim prod/pg-data-0.' }),
                decisionId: Type.String({ description: 'The decision id; kubectl suture explain <id> shows its record.' }),
              },
              { description: 'The latest denial.' },
            ),
          ),
        },
        { description: 'Counts of the requests this policy denied, warned about or audited, dry runs not counted: what suture_decisions_total{policy} counts, summed over the replicas and kept across restarts. Every replica adds its own counts about every 30s and when it stops.' },
      ),
    ),
  },
  { description: 'Whether the policy compiled, its errors, and its decisions. Written by Suture.' },
);

// ------------------------------------------------------------------------------------------------ SutureException

export const SutureExceptionSpec = Strict(
  {
    policies: Type.Optional(StringList({ description: 'Names of the SuturePolicies this exception lifts.' })),
    leases: Type.Optional(
      Type.Array(
        Strict(
          {
            namespace: Type.String({ minLength: 1, description: "The lease's namespace." }),
            name: Type.String({ minLength: 1, description: "The lease's name." }),
          },
          { description: 'A SutureLease by namespace and name.' },
        ),
        { description: 'The SutureLeases this exception lifts.' },
      ),
    ),
    subjects: Type.Array(described(Subject, 'An identity that may use this exception.'), { minItems: 1, description: 'Who may use the exception (at least one).' }),
    match: Type.Optional(
      Type.Array(described(ObjectSelector, 'Objects the exception is limited to.'), { description: 'Limits the exception to these objects. Empty: every object the policies and leases cover.' }),
    ),
    expiresAt: described(Timestamp, 'When the exception ends; required, in the future and at most the configured maximum (default 24h) from when it is applied.'),
    reason: Type.String({ minLength: 1, description: 'Why the exception exists, e.g. an incident number; recorded with every use.' }),
  },
  {
    description: 'What is lifted (policies, leases), for whom, on which objects, until when and why.',
    'x-kubernetes-validations': [
      { rule: '(has(self.policies) && size(self.policies) > 0) || (has(self.leases) && size(self.leases) > 0)', message: 'an exception names at least one policy or lease' },
    ],
  },
);

export const SutureExceptionStatus = Strict(
  {
    active: Type.Optional(Type.Boolean({ description: 'Whether the exception is in force now.' })),
    reason: Type.Optional(Type.String({ description: 'Why it is active or not, e.g. "Expired at 2026-11-23T10:00:00Z".' })),
    uses: Type.Optional(Type.Integer({ minimum: 0, description: 'How many requests it allowed.' })),
    lastUsed: Type.Optional(described(Timestamp, 'When it last allowed a request.')),
    conditions: Type.Optional(described(Conditions, 'Standard conditions: Active.')),
  },
  { description: 'Whether the exception is active, and its uses. Written by Suture.' },
);

// ------------------------------------------------------------------------------------------------------- the kinds

export interface KindDefinition {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly scope: 'Namespaced' | 'Cluster';
  /** What `kubectl explain <kind>` prints first. */
  readonly description: string;
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
    description:
      'SutureLease: exclusive (or shared) ownership of a set of objects, or of fields of them, by one operator identity. While it is Granted and Exclusive, other governed identities may not write the leased objects, cascades included; Suture generates scoped RBAC for the holder.',
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
    description:
      'SuturePolicy: invariants that must hold after a request, for the objects it affects (its impact: the target, cascades, scale changes). A request by a bound identity that would break one is denied, warned or recorded, or patched with avert.',
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
    description:
      'SutureException: break-glass. Lifts named policies or leases for named subjects, optionally on some objects only, until expiresAt (at most 24h by default); every use is counted and recorded.',
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
