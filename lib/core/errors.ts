/**
 * Typed errors with a stable code and the process exit code the CLI maps them to.
 *
 * Messages follow one format everywhere:
 * `<where> <what is wrong>: got <value>. <how to fix>`
 */

/** Exit codes of the `rekey` CLI. */
export enum ExitCode {
  OK = 0,
  /** Bad input: spec, ledger, arguments, files. Nothing was written. */
  BAD_INPUT = 1,
  /** `--due --check`: a rotation is due or overdue. */
  ROTATION_DUE = 2,
  /** An internal error: a bug to report. */
  INTERNAL = 3,
}

/** Base class of every error rekey raises on purpose. */
export class RekeyError extends Error {
  /** A stable machine-readable code, e.g. `SPEC_INVALID`. */
  public readonly code: string;
  /** The exit code the CLI uses for this error. */
  public readonly exitCode: ExitCode;

  public constructor(code: string, message: string, options: { exitCode?: ExitCode; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.BAD_INPUT;
  }
}

/** Input that cannot be accepted (spec, ledger, arguments, construct props). */
export class ValidationError extends RekeyError {
  public constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(options.code ?? 'INVALID_INPUT', message, { exitCode: ExitCode.BAD_INPUT, cause: options.cause });
  }
}

/** A call to a storage provider (admin API, IAM, S3) failed. */
export class ProviderError extends RekeyError {
  /** Provider kind, e.g. `ceph-rgw`. */
  public readonly provider: string;
  /** The operation that failed, e.g. `addKey`. */
  public readonly operation: string;
  /** The access-key ID concerned, when there is one (never a secret). */
  public readonly keyId?: string;
  /** HTTP status of the provider's answer, when there was one. */
  public readonly status?: number;
  /** The provider's error code (e.g. `InvalidAccessKeyId`, `XMinioAdminNoSuchUser`), when it gave one. */
  public readonly providerCode?: string;

  public constructor(props: {
    readonly provider: string;
    readonly operation: string;
    readonly keyId?: string;
    readonly status?: number;
    readonly providerCode?: string;
    /** What went wrong and how to fix it; the prefix `<provider> <operation> [key <id>]:` is added. */
    readonly message: string;
    readonly code?: string;
    readonly cause?: unknown;
  }) {
    const key = props.keyId ? ` key ${props.keyId}` : '';
    super(props.code ?? 'PROVIDER_ERROR', `${props.provider} ${props.operation}${key}: ${props.message}`, {
      exitCode: ExitCode.INTERNAL,
      cause: props.cause,
    });
    this.provider = props.provider;
    this.operation = props.operation;
    this.keyId = props.keyId;
    this.status = props.status;
    this.providerCode = props.providerCode;
  }
}

/** A path to a field: `['credentials', 2, 'identity', 'kind']`. */
export type FieldPath = readonly (string | number)[];

/** The parts of one validation problem; a message renders them as `<where> <field> <what>: got <value>. <fix>`. */
export interface Problem {
  /** The field, relative to the subject (`['identity', 'kind']`); empty for the subject itself. */
  readonly field: FieldPath;
  /** What is wrong, e.g. `must be at least 7`. */
  readonly what: string;
  /** The offending value, shown as JSON. */
  readonly value: unknown;
  /** How to fix it, a sentence. */
  readonly fix: string;
}

/**
 * A problem with one field of one construct (or of one spec entry). The message names the
 * construct path (`rekey/uploads identity.kind …`); the spec loader re-renders the same
 * problem with the file and field path of rekey.yaml (`rekey.yaml credentials[0].identity.kind …`).
 */
export class FieldError extends ValidationError {
  /** Where the problem is: a construct path, or a file name. */
  public readonly where: string;
  public readonly problem: Problem;
  /** The construct the problem belongs to, when there is one (used to map it back to rekey.yaml). */
  public readonly subject?: unknown;

  public constructor(where: string, problem: Problem, options: { code?: string; subject?: unknown; cause?: unknown } = {}) {
    super(renderProblem(where, problem), { code: options.code ?? 'INVALID_INPUT', cause: options.cause });
    this.where = where;
    this.problem = problem;
    this.subject = options.subject;
  }
}

/** `<where> <field> <what>: got <value>. <fix>` on one line. */
export function renderProblem(where: string, p: Problem): string {
  const field = formatPath(p.field);
  return `${where}${field ? ` ${field}` : ''} ${p.what}: got ${show(p.value)}. ${p.fix}`;
}

/** `credentials[2].rotationPolicy.intervalDays`; keys that are not identifiers as `["a b"]`. */
export function formatPath(path: readonly (string | number | symbol)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (!/^[A-Za-z_][-A-Za-z0-9_.]*$/.test(String(p))) out += `[${JSON.stringify(String(p))}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** A short, single-line rendering of a value for error messages. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value); // JSON would say null
  if (typeof value === 'bigint') return String(value);
  let s: string | undefined;
  try {
    s = JSON.stringify(value);
  } catch {
    s = undefined;
  }
  if (s === undefined) s = String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** The value at a path inside parsed YAML/JSON, or undefined. */
export function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = raw;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p as string | number];
  }
  return cur;
}
