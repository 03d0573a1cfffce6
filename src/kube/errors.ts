// The API server's failures as a small typed family, each with the original error as `cause`.
import { ApiException } from '@kubernetes/client-node';

export const KubeErrorKinds = { NotFound: 'NotFound', Conflict: 'Conflict', Forbidden: 'Forbidden', Gone: 'Gone', Other: 'Other' } as const;
export type KubeErrorKind = (typeof KubeErrorKinds)[keyof typeof KubeErrorKinds];

/** What the API server's Status body said, when it sent one. */
export interface StatusDetails {
  /** HTTP status code; undefined when no response arrived (connection refused, TLS, timeout). */
  code?: number;
  /** metav1.Status reason: NotFound, AlreadyExists, Conflict, Forbidden, Invalid, Expired, … */
  reason?: string;
  message?: string;
}

export class KubeError extends Error {
  readonly kind: KubeErrorKind;
  readonly code: number | undefined;
  /** The Status reason (AlreadyExists and Conflict are both kind Conflict). */
  readonly reason: string | undefined;

  constructor(kind: KubeErrorKind, message: string, details: StatusDetails & { cause?: unknown }) {
    super(message, { cause: details.cause });
    this.kind = kind;
    this.code = details.code;
    this.reason = details.reason;
  }

  override get name(): string {
    return `KubeError(${this.kind})`;
  }
}

function kindOfStatus(code: number | undefined): KubeErrorKind {
  switch (code) {
    case 404:
      return KubeErrorKinds.NotFound;
    case 409:
      return KubeErrorKinds.Conflict;
    case 401:
    case 403:
      return KubeErrorKinds.Forbidden;
    case 410:
      return KubeErrorKinds.Gone;
    default:
      return KubeErrorKinds.Other;
  }
}

function parseBody(body: unknown): { reason?: string; message?: string } {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return { message: body };
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const { reason, message } = parsed as { reason?: unknown; message?: unknown };
  return { ...(typeof reason === 'string' ? { reason } : {}), ...(typeof message === 'string' ? { message } : {}) };
}

/** The status code and Status body of an error from client-node (ApiException, or a watch error with statusCode). */
export function statusOf(error: unknown): StatusDetails {
  if (error instanceof ApiException) return { code: error.code, ...parseBody(error.body) };
  if (typeof error === 'object' && error !== null) {
    const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
    if (typeof statusCode === 'number') return { code: statusCode };
    if (typeof code === 'number') return { code };
  }
  return {};
}

/**
 * Normalises any error from a call to the API server. `what` names the call for the message, e.g.
 * "get apps/v1 Deployment prod/web".
 */
export function toKubeError(error: unknown, what: string): KubeError {
  if (error instanceof KubeError) return error;
  const details = statusOf(error);
  const kind = kindOfStatus(details.code);
  const detail = details.message ?? (error instanceof Error ? error.message : String(error));
  const status = details.code === undefined ? '' : ` (${details.code}${details.reason === undefined ? '' : ` ${details.reason}`})`;
  return new KubeError(kind, `${what} failed${status}: ${detail}`, { ...details, cause: error });
}

export const isNotFound = (error: unknown): boolean => error instanceof KubeError && error.kind === KubeErrorKinds.NotFound;
export const isConflict = (error: unknown): boolean => error instanceof KubeError && error.kind === KubeErrorKinds.Conflict;
export const isAlreadyExists = (error: unknown): boolean => isConflict(error) && (error as KubeError).reason === 'AlreadyExists';
export const isForbidden = (error: unknown): boolean => error instanceof KubeError && error.kind === KubeErrorKinds.Forbidden;
export const isGone = (error: unknown): boolean => error instanceof KubeError && error.kind === KubeErrorKinds.Gone;
