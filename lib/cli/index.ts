import { join, resolve } from 'node:path';
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ExitCode, RekeyError, ValidationError } from '../core/errors.js';

/** Where the CLI writes; injectable so commands are testable without spawning a process. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Project folder. @default process.cwd() */
  readonly cwd?: string;
  /** Clock. @default - now */
  readonly now?: () => Date;
}

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly options: Record<string, { type: 'string' | 'boolean'; short?: string }>;
  readonly positionals: boolean;
  run(args: { values: Record<string, string | boolean | undefined>; positionals: string[]; dir: string; io: CliIo }): Promise<number>;
}

const COMMON = { dir: { type: 'string' as const }, output: { type: 'string' as const, short: 'o' } };

/** One declarative command table; each command's module is imported lazily. */
const COMMANDS: Record<string, Command> = {
  synth: {
    summary: 'render dist/ from rekey.yaml, rekey.ledger.yaml and the cdk8s app (atomically)',
    usage: 'rekey synth [--dir <project>]',
    options: COMMON,
    positionals: false,
    async run({ dir, io }) {
      const { synthesize, replaceDir, tempDirIn } = await import('../project/synth.js');
      const work = tempDirIn(dir);
      try {
        await synthesize({ dir, outdir: join(work, 'dist'), warn: (l) => io.stderr(l + '\n') });
        replaceDir(join(work, 'dist'), join(dir, 'dist'));
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
      io.stderr('rekey: dist/ rendered\n');
      return ExitCode.OK;
    },
  },
  rotate: {
    summary: 'draw new key material, seal it, bump the generation and re-render dist/',
    usage: 'rekey rotate <credential>... | --due [--check] [--dir <project>] [--output json]',
    options: { ...COMMON, due: { type: 'boolean' }, check: { type: 'boolean' } },
    positionals: true,
    async run({ values, positionals, dir, io }) {
      const now = io.now?.() ?? new Date();
      let names = positionals;
      let model: import('../core/model.js').RekeyModel | undefined;
      if (values.check && !values.due) {
        throw new ValidationError(`rekey rotate --check only applies with --due: got --check alone. Use rekey rotate --due --check.`);
      }
      if (values.due) {
        if (positionals.length) {
          throw new ValidationError(`rekey rotate --due takes no credential names: got ${positionals.join(' ')}. Use either names or --due.`);
        }
        const { status, dueCredentials } = await import('./commands/status.js');
        const { synthesize } = await import('../project/synth.js');
        model = await synthesize({ dir, outdir: dir, modelOnly: true });
        names = dueCredentials(await status({ dir, now, model }));
        if (values.check) {
          if (values.output === 'json') io.stdout(JSON.stringify({ due: names }) + '\n');
          else io.stdout(names.length ? `due: ${names.join(', ')}\n` : 'nothing is due\n');
          return names.length ? ExitCode.ROTATION_DUE : ExitCode.OK;
        }
        if (names.length === 0) {
          io.stdout(values.output === 'json' ? '{"rotated":[]}\n' : 'nothing is due\n');
          return ExitCode.OK;
        }
      }
      const { rotateCredentials } = await import('../project/rotate.js');
      const rotated = await rotateCredentials({ dir, credentials: names, now, model, warn: (l) => io.stderr(l + '\n') });
      if (values.output === 'json') io.stdout(JSON.stringify({ rotated }) + '\n');
      else {
        for (const r of rotated) {
          io.stdout(`rotated ${r.credential}: generation ${r.generation}, access key ${r.accessKeyId}${r.previousAccessKeyId ? ` (replaces ${r.previousAccessKeyId})` : ''}\n`);
        }
        io.stdout('Review `git diff`, commit rekey.ledger.yaml and dist/, and open a pull request.\n');
        io.stdout(
          'NOTE: this release does not render the rotation Jobs yet. Register each new access key at its provider (next to the old one) before merging, or consumers restart onto a key the provider rejects.\n',
        );
      }
      return ExitCode.OK;
    },
  },
  check: {
    summary: 'exit 1 when dist/ is stale against the spec and ledger, or the ledger was edited by hand',
    usage: 'rekey check [--dir <project>]',
    options: COMMON,
    positionals: false,
    async run({ dir, io }) {
      const { check } = await import('./commands/check.js');
      await check({ dir });
      io.stdout('dist/ is up to date; rekey.ledger.yaml integrity holds\n');
      return ExitCode.OK;
    },
  },
  status: {
    summary: "every credential's age, next due date, generation and consumers",
    usage: 'rekey status [--dir <project>] [--output json]',
    options: COMMON,
    positionals: false,
    async run({ values, dir, io }) {
      const { status, formatStatus } = await import('./commands/status.js');
      const rows = await status({ dir, now: io.now?.() });
      io.stdout(values.output === 'json' ? JSON.stringify(rows, null, 2) + '\n' : formatStatus(rows));
      return ExitCode.OK;
    },
  },
  fingerprint: {
    summary: "print the SHA-256 fingerprint of a sealing certificate, to pin in rekey.yaml sealing.fingerprint",
    usage: 'rekey fingerprint <certificate.pem>',
    options: {},
    positionals: true,
    async run({ positionals, dir, io }) {
      const { readFileSync } = await import('node:fs');
      const { SealingCertificate } = await import('../project/seal.js');
      if (positionals.length !== 1) {
        throw new ValidationError(`rekey fingerprint takes one certificate file: got ${positionals.length}. Usage: rekey fingerprint <certificate.pem> (from kubeseal --fetch-cert).`);
      }
      const file = positionals[0]!;
      let pem: string;
      try {
        pem = readFileSync(resolve(dir, file), 'utf8');
      } catch (e) {
        throw new ValidationError(`rekey fingerprint ${file} cannot be read: got ${(e as NodeJS.ErrnoException).code}. Fetch it with \`kubeseal --fetch-cert > ${file}\`.`);
      }
      const cert = SealingCertificate.fromPem(pem, file);
      io.stdout(`${cert.fingerprint}\n`);
      return ExitCode.OK;
    },
  },
  schema: {
    summary: 'print the JSON Schema of rekey.yaml (for editor completion)',
    usage: 'rekey schema',
    options: {},
    positionals: false,
    async run({ io }) {
      const { specJsonSchema } = await import('../project/spec.js');
      io.stdout(JSON.stringify(specJsonSchema(), null, 2) + '\n');
      return ExitCode.OK;
    },
  },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return (
    'Usage: rekey <command> [options]\n\nCommands:\n' +
    Object.entries(COMMANDS)
      .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
      .join('\n') +
    '\n\nExit codes: 0 ok, 1 bad input (nothing written), 2 rotation due (rotate --due --check), 3 internal error.\n'
  );
}

/**
 * Runs the CLI and returns its exit code. The one error policy: a RekeyError prints one line
 * (`rekey: error: ...`) and its exit code; anything else is an internal error (exit 3).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(help());
    return name ? ExitCode.OK : ExitCode.BAD_INPUT;
  }
  try {
    const command = COMMANDS[name];
    if (!command) {
      throw new ValidationError(`rekey command is unknown: got ${JSON.stringify(name)}. Use one of ${Object.keys(COMMANDS).join(', ')} (rekey --help).`);
    }
    let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
    try {
      parsed = parseArgs({ args: [...rest], options: command.options, allowPositionals: command.positionals, strict: true }) as typeof parsed;
    } catch (e) {
      throw new ValidationError(`rekey ${name} arguments are invalid: got ${JSON.stringify(rest.join(' '))} (${(e as Error).message}). Usage: ${command.usage}`);
    }
    const output = parsed.values.output;
    if (output !== undefined && output !== 'json' && output !== 'table') {
      throw new ValidationError(`rekey ${name} --output must be json or table: got ${JSON.stringify(output)}. Use --output json.`);
    }
    const dir = resolve(io.cwd ?? process.cwd(), (parsed.values.dir as string | undefined) ?? '.');
    return await command.run({ ...parsed, dir, io });
  } catch (e) {
    if (e instanceof RekeyError) {
      io.stderr(`rekey: error: ${e.message}\n`);
      return e.exitCode;
    }
    io.stderr(`rekey: internal error, please report it with this output: ${(e as Error)?.stack ?? String(e)}\n`);
    return ExitCode.INTERNAL;
  }
}
