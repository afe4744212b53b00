/** Where the CLI writes; injectable so commands are testable without spawning a process. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Project folder. @default process.cwd() */
  readonly cwd?: string;
  /** Standard input (`rekey rotate --access-key-id` reads the secret from it). @default process.stdin */
  readonly stdin?: import('./secret-input.js').SecretInput;
  /** Clock. @default - now */
  readonly now?: () => Date;
}

/** What a command receives: parsed options, positionals, the project folder and the io. */
export interface CommandArgs {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
  readonly dir: string;
  readonly io: CliIo;
}

/** A command module: one file under lib/cli/commands, imported lazily. */
export interface CommandModule {
  run(args: CommandArgs): Promise<number>;
}
