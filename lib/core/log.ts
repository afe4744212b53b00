import { SecretValue } from './secret-value.js';

/** One structured log record. Values must be key IDs, names, numbers — never a secret. */
export type LogFields = Record<string, string | number | boolean | null | undefined | string[]>;

/** Where structured JSON lines go. */
export interface Logger {
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: LogFields): void;
}

/**
 * Writes one JSON line per record to a stream (stderr by default).
 * A `SecretValue` passed by mistake serializes as `<redacted>`; raw bytes (a `Buffer` or any
 * typed array, e.g. from `SecretValue.revealBytes()`) as `<N bytes>`, never their content.
 */
export class JsonLineLogger implements Logger {
  public constructor(
    private readonly write: (line: string) => void = (line) => process.stderr.write(line),
    private readonly now: () => Date = () => new Date(),
  ) {}

  public log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: LogFields = {}): void {
    this.write(JSON.stringify({ ts: this.now().toISOString(), level, msg, ...fields }, redact) + '\n');
  }
}

/** Collects records in memory (tests). */
export class MemoryLogger implements Logger {
  public readonly records: Array<{ level: string; msg: string } & LogFields> = [];
  public readonly lines: string[] = [];
  public log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: LogFields = {}): void {
    const record = { level, msg, ...fields };
    this.records.push(record);
    this.lines.push(JSON.stringify(record, redact));
  }
}

/** Drops everything. */
export const NULL_LOGGER: Logger = { log: () => undefined };

function redact(this: unknown, key: string, value: unknown): unknown {
  if (value instanceof SecretValue) return value.toJSON();
  // JSON.stringify has already turned a Buffer into {type:'Buffer',data:[…]}: look at the holder's original
  const original = this !== null && typeof this === 'object' ? (this as Record<string, unknown>)[key] : undefined;
  if (Buffer.isBuffer(original) || ArrayBuffer.isView(original)) return `<${(original as ArrayBufferView).byteLength} bytes>`;
  if (ArrayBuffer.isView(value)) return `<${value.byteLength} bytes>`;
  return value;
}
