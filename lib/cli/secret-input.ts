import { ValidationError } from '../core/errors.js';
import { SecretValue } from '../core/secret-value.js';

/** Standard input as the CLI reads a secret from it (process.stdin, or a stream in tests). */
export interface SecretInput extends AsyncIterable<Buffer | string> {
  readonly isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
  pause?(): unknown;
}

/** The most bytes read from a pipe: a secret is one short line. */
const MAX_PIPED_BYTES = 4096;

/** Options of `readSecretLine`. */
export interface ReadSecretOptions {
  /** The command line that shows how to pipe the secret in (in the error for empty input). */
  readonly how: string;
  /** Shown on standard error before reading from a terminal. */
  readonly prompt: string;
  /** Where the prompt goes. */
  readonly stderr: (text: string) => void;
}

/**
 * Reads one secret from standard input, never echoing it. From a terminal: after a prompt on
 * standard error, with echo off (raw mode), until Enter; Ctrl-C or Ctrl-D aborts. From a pipe or
 * a file: one line (a trailing newline, and a CR before it, are dropped); anything after it is
 * refused. Nothing (a closed or empty input, Enter alone) is a one-line error saying how to pipe
 * the secret in. The value is returned as a SecretValue and appears in no message.
 */
export async function readSecretLine(input: SecretInput, options: ReadSecretOptions): Promise<SecretValue> {
  const text = input.isTTY ? await readFromTerminal(input, options) : await readFromPipe(input);
  if (text.length === 0) {
    throw new ValidationError(`rekey rotate --access-key-id reads the new secret access key from standard input: got nothing. Pipe it in (never as an argument): ${options.how}`, { code: 'SECRET_INPUT_MISSING' });
  }
  return SecretValue.fromString(text);
}

async function readFromPipe(input: SecretInput): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    chunks.push(b);
    size += b.length;
    if (size > MAX_PIPED_BYTES) {
      throw new ValidationError(`rekey rotate standard input is longer than a secret access key: got more than ${MAX_PIPED_BYTES} bytes. Pipe in the secret alone, on one line.`, { code: 'SECRET_INPUT_INVALID' });
    }
  }
  let text = Buffer.concat(chunks).toString('utf8');
  if (text.endsWith('\n')) text = text.slice(0, -1);
  if (text.endsWith('\r')) text = text.slice(0, -1);
  if (text.includes('\n')) {
    throw new ValidationError(`rekey rotate standard input has more than one line: got ${text.split('\n').length} lines. Pipe in the secret access key alone, on one line (the ID goes in --access-key-id).`, { code: 'SECRET_INPUT_INVALID' });
  }
  return text;
}

async function readFromTerminal(input: SecretInput, options: ReadSecretOptions): Promise<string> {
  if (typeof input.setRawMode !== 'function') {
    throw new ValidationError(`rekey rotate cannot turn off echo on this terminal: got a terminal without raw mode. Pipe the secret in instead: ${options.how}`, { code: 'SECRET_INPUT_MISSING' });
  }
  options.stderr(options.prompt);
  input.setRawMode(true);
  let text = '';
  try {
    for await (const chunk of input) {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return text;
        if (ch === '\u0003' || ch === '\u0004') {
          throw new ValidationError(`rekey rotate was interrupted while reading the secret access key: got ${ch === '\u0003' ? 'Ctrl-C' : 'Ctrl-D'}. Nothing was written; run the command again.`, { code: 'SECRET_INPUT_MISSING' });
        }
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
        if (text.length > MAX_PIPED_BYTES) {
          throw new ValidationError(`rekey rotate standard input is longer than a secret access key: got more than ${MAX_PIPED_BYTES} characters. Type or paste the secret alone.`, { code: 'SECRET_INPUT_INVALID' });
        }
      }
    }
    return text;
  } finally {
    input.setRawMode(false);
    input.pause?.();
    options.stderr('\n');
  }
}
