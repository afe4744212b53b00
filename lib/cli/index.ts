import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ExitCode, RekeyError, ValidationError } from '../core/errors.js';
import type { CliIo, CommandModule } from './command.js';

export type { CliIo } from './command.js';

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly options: Record<string, { type: 'string' | 'boolean'; short?: string }>;
  readonly positionals: boolean;
  /** The command's module (lib/cli/commands/<name>.ts), imported only when it runs. */
  load(): Promise<CommandModule>;
}

const DIR = { dir: { type: 'string' as const } };
const OUTPUT = { output: { type: 'string' as const, short: 'o' } };

/** One declarative command table; each command is a lazily imported module. */
const COMMANDS: Record<string, Command> = {
  init: {
    summary: 'write a starter rekey.yaml (--cert pins the sealing certificate; --typescript adds cdk8s.yaml and main.ts) and .gitignore entries',
    usage: 'rekey init [--cert <sealed-secrets.pem>] [--typescript] [--dir <project>]',
    options: { ...DIR, cert: { type: 'string' }, typescript: { type: 'boolean' } },
    positionals: false,
    load: () => import('./commands/init.js'),
  },
  synth: {
    summary: 'render dist/ from rekey.yaml, rekey.ledger.yaml and the cdk8s app (atomically)',
    usage: 'rekey synth [--dir <project>]',
    options: DIR,
    positionals: false,
    load: () => import('./commands/synth.js'),
  },
  rotate: {
    summary: "draw new key material (or take an external provider's key: secret on stdin), seal it, bump the generation and re-render dist/",
    usage: 'rekey rotate <credential>... | --due [--check] | <credential> --access-key-id <id> (secret on stdin) [--dir <project>] [--output json]',
    options: { ...DIR, ...OUTPUT, due: { type: 'boolean' }, check: { type: 'boolean' }, 'access-key-id': { type: 'string' } },
    positionals: true,
    load: () => import('./commands/rotate.js'),
  },
  adopt: {
    summary: 'record a key that already exists at the provider (not secret), so the first rotation retires it',
    usage: 'rekey adopt <credential> --access-key-id <id> [--dir <project>]',
    options: { ...DIR, 'access-key-id': { type: 'string' } },
    positionals: true,
    load: () => import('./commands/adopt.js'),
  },
  revoke: {
    summary: 'the panic button: a new key whose Job revokes the old one at once, no overlap (--yes to render it)',
    usage: 'rekey revoke <credential> [--yes] [--dir <project>] [--output json]',
    options: { ...DIR, ...OUTPUT, yes: { type: 'boolean' } },
    positionals: true,
    load: () => import('./commands/revoke.js'),
  },
  retry: {
    summary: "render a failed rotation step again under a new attempt number (a new Job name)",
    usage: 'rekey retry <credential> [--step activate|deliver|retire|revoke] [--dir <project>] [--output json]',
    options: { ...DIR, ...OUTPUT, step: { type: 'string' } },
    positionals: true,
    load: () => import('./commands/retry.js'),
  },
  check: {
    summary: 'exit 1 when dist/ is stale against the spec and ledger, or the ledger was edited by hand',
    usage: 'rekey check [--dir <project>]',
    options: DIR,
    positionals: false,
    load: () => import('./commands/check.js'),
  },
  status: {
    summary: "every credential's age, next due date, generation and consumers",
    usage: 'rekey status [--dir <project>] [--output json]',
    options: { ...DIR, ...OUTPUT },
    positionals: false,
    load: () => import('./commands/status.js'),
  },
  fingerprint: {
    summary: 'print the SHA-256 fingerprint of a sealing certificate, to pin in rekey.yaml sealing.fingerprint',
    usage: 'rekey fingerprint <certificate.pem> [--dir <project>]',
    options: DIR,
    positionals: true,
    load: () => import('./commands/fingerprint.js'),
  },
  schema: {
    summary: 'print the JSON Schema of rekey.yaml (for editor completion)',
    usage: 'rekey schema',
    options: {},
    positionals: false,
    load: () => import('./commands/schema.js'),
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
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout(`Usage: ${command.usage}\n\n${command.summary}\n`);
      return ExitCode.OK;
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
    return await (await command.load()).run({ ...parsed, dir, io });
  } catch (e) {
    if (e instanceof RekeyError) {
      io.stderr(`rekey: error: ${e.message}\n`);
      return e.exitCode;
    }
    io.stderr(`rekey: internal error, please report it with this output: ${(e as Error)?.stack ?? String(e)}\n`);
    return ExitCode.INTERNAL;
  }
}
