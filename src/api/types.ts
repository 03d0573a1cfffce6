// TypeScript types of the suture.dev/v1alpha1 API, derived from the schemas in ./schema.ts (never written by hand).
import type { Static } from '@sinclair/typebox';
import type * as S from './schema.js';

export type Subject = Static<typeof S.Subject>;
export type LabelSelector = Static<typeof S.LabelSelector>;
export type ObjectSelector = Static<typeof S.ObjectSelector>;
export type LeaseResource = Static<typeof S.LeaseResource>;
export type Condition = Static<typeof S.Condition>;
export type FieldError = Static<typeof S.FieldError>;

export type SutureLeaseSpec = Static<typeof S.SutureLeaseSpec>;
export type SutureLeaseStatus = Static<typeof S.SutureLeaseStatus>;
export type LeasePhase = (typeof S.LeasePhases)[number];

export type SuturePolicySpec = Static<typeof S.SuturePolicySpec>;
export type SuturePolicyStatus = Static<typeof S.SuturePolicyStatus>;
export type Invariant = Static<typeof S.Invariant>;
export type InvariantKind = (typeof S.InvariantKinds)[number];
export type PolicyCondition = Static<typeof S.PolicyCondition>;
export type Enforcement = (typeof S.Enforcements)[number];
export type FailurePolicy = (typeof S.FailurePolicies)[number];
export type Operation = (typeof S.Operations)[number];

export type SutureExceptionSpec = Static<typeof S.SutureExceptionSpec>;
export type SutureExceptionStatus = Static<typeof S.SutureExceptionStatus>;

/** The metadata Suture reads from any object. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Any Kubernetes object, as Suture sees it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

interface SutureObject<Spec, Status> extends KubeObject {
  spec: Spec;
  status?: Status;
}

export type SutureLease = SutureObject<SutureLeaseSpec, SutureLeaseStatus> & { kind: 'SutureLease' };
export type SuturePolicy = SutureObject<SuturePolicySpec, SuturePolicyStatus> & { kind: 'SuturePolicy' };
export type SutureException = SutureObject<SutureExceptionSpec, SutureExceptionStatus> & { kind: 'SutureException' };
