import { timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

const REDACTED = '<redacted>';

/**
 * A piece of secret material (a secret access key, a password).
 *
 * Never a plain `string` in a public API: `toString()`, `toJSON()` and `util.inspect`
 * print a redaction, so a secret that reaches a log line, an error message or
 * `JSON.stringify` shows up as `<redacted>` instead of its value. Read the value
 * only where it is used, with `reveal()`.
 */
export class SecretValue {
  /** Wraps a string (UTF-8). */
  public static fromString(value: string): SecretValue {
    return new SecretValue(Buffer.from(value, 'utf8'));
  }

  /** Wraps bytes (copied). */
  public static fromBuffer(value: Buffer): SecretValue {
    return new SecretValue(Buffer.from(value));
  }

  readonly #bytes: Buffer;

  private constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  /** The secret as a UTF-8 string. Call only where the value is handed to a cipher or a signer. */
  public reveal(): string {
    return this.#bytes.toString('utf8');
  }

  /** The secret as bytes (a copy). */
  public revealBytes(): Buffer {
    return Buffer.from(this.#bytes);
  }

  /** Length in bytes. */
  public get length(): number {
    return this.#bytes.length;
  }

  /** Constant-time comparison with another secret. */
  public equals(other: SecretValue): boolean {
    const a = this.#bytes;
    const b = other.#bytes;
    return a.length === b.length && timingSafeEqual(a, b);
  }

  public toString(): string {
    return REDACTED;
  }

  public toJSON(): string {
    return REDACTED;
  }

  public [inspect.custom](): string {
    return `SecretValue(${REDACTED})`;
  }
}
