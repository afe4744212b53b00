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
