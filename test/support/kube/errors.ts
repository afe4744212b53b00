/**
 * Status error bodies exactly as kube-apiserver writes them (AM pkg/api/errors/errors.go):
 * `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",message,reason,details,code}`.
 */
import { qualifiedKind, qualifiedResource, type ResourceDef } from './resources.js';

export interface StatusCause {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

export interface StatusBody {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure' | 'Success';
  readonly message?: string;
  readonly reason?: string;
  readonly details?: StatusDetails;
  readonly code: number;
}

/** An error the API server answers with a Status body. */
export class ApiError extends Error {
  public constructor(
    public readonly code: number,
    public readonly reason: string,
    message: string,
    public readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  public status(): StatusBody {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

function details(def: ResourceDef, name: string): StatusDetails {
  return { name, ...(def.group ? { group: def.group } : {}), kind: def.resource };
}

export function notFound(def: ResourceDef, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(def)} "${name}" not found`, details(def, name));
}

export function alreadyExists(def: ResourceDef, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(def)} "${name}" already exists`, details(def, name));
}

export const MODIFIED_MESSAGE = 'the object has been modified; please apply your changes to the latest version and try again';

export function conflict(def: ResourceDef, name: string, why: string = MODIFIED_MESSAGE): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(def)} "${name}": ${why}`, details(def, name));
}

export interface FieldError {
  readonly field: string;
  /** e.g. `Required value`, `Invalid value: 0x0: must be specified for an update` */
  readonly detail: string;
  /** FieldValueRequired, FieldValueInvalid, … */
  readonly type: string;
}

/** 422 Invalid: `<Kind.group> "x" is invalid: <field>: <detail>[, …]` (errors.go NewInvalid). */
export function invalid(def: ResourceDef, name: string, errors: readonly FieldError[]): ApiError {
  const text = errors.map((e) => `${e.field}: ${e.detail}`);
  const joined = text.length === 1 ? text[0] : `[${text.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${qualifiedKind(def)} "${name}" is invalid: ${joined}`, {
    name,
    ...(def.group ? { group: def.group } : {}),
    kind: def.kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field })),
  });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function namespaceNotFound(namespace: string): ApiError {
  return new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
}

export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function methodNotAllowed(): ApiError {
  return new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

export function pathNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource');
}

export function unsupportedPatch(accepted: readonly string[]): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
}
