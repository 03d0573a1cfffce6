// Builds the CustomResourceDefinitions of Suture's API from the schemas in ./schema.ts. Pure: the generator script
// writes the result to crds/, and a unit test fails when crds/ differs from what this builds.
import { CATEGORY, GROUP, VERSION } from './constants.js';
import { KINDS, type KindDefinition } from './schema.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One key of a schema node, rewritten for a structural schema: `undefined` drops it. */
function structuralEntry(key: string, value: Json): [string, Json] | undefined {
  if (key === '$id' || key === '$schema') return undefined;
  // Unknown fields are pruned by the API server; properties and additionalProperties are mutually exclusive there.
  if (key === 'additionalProperties' && value === false) return undefined;
  if (key === 'patternProperties') {
    const only = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.values(value)[0] : undefined;
    return only === undefined ? undefined : ['additionalProperties', toStructural(only)];
  }
  return [key, key === 'properties' ? mapValues(value, toStructural) : toStructural(value)];
}

/** Turns a TypeBox (JSON Schema) node into a structural OpenAPI v3 schema as CRDs require. */
export function toStructural(node: Json): Json {
  if (Array.isArray(node)) return node.map(toStructural);
  if (node === null || typeof node !== 'object') return node;
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) {
    const entry = structuralEntry(key, value);
    if (entry !== undefined) out[entry[0]] = entry[1];
  }
  return out;
}

function mapValues(value: Json, fn: (v: Json) => Json): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fn(v)]));
}

function plain(schema: unknown): Json {
  return JSON.parse(JSON.stringify(schema)) as Json; // drops TypeBox's symbol keys
}

// The descriptions Kubernetes' own types give these two fields (what `kubectl explain pod` prints).
const API_VERSION_DESCRIPTION =
  'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources';
const KIND_DESCRIPTION =
  'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';

export function buildCrd(def: KindDefinition): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'suture' } },
    spec: {
      group: GROUP,
      scope: def.scope,
      names: { kind: def.kind, listKind: `${def.kind}List`, plural: def.plural, singular: def.singular, shortNames: [...def.shortNames], categories: [CATEGORY] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns.map((c) => ({ ...c })),
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: def.description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string', description: API_VERSION_DESCRIPTION },
                kind: { type: 'string', description: KIND_DESCRIPTION },
                // The API server refuses anything but name/generateName here and publishes ObjectMeta's own docs.
                metadata: { type: 'object' },
                spec: toStructural(plain(def.spec)),
                status: toStructural(plain(def.status)),
              },
            },
          },
        },
      ],
    },
  };
}

export function buildCrds(): Record<string, unknown>[] {
  return KINDS.map(buildCrd);
}

/** The file name of a kind's CRD in crds/. */
export function crdFileName(def: KindDefinition): string {
  return `${GROUP}_${def.plural}.yaml`;
}
