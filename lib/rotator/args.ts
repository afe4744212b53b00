import { ValidationError } from '../core/errors.js';
import { PLAN_MOUNT_PATH } from '../core/plan.js';
import { STEP_NAMES, type StepName } from './context.js';

/** What the rotator was asked to do. */
export interface RotatorArgs {
  readonly step: StepName;
  /** Path of plan.json. */
  readonly planPath: string;
}

const USAGE = 'Run it as the rotation Job does: --step <activate|deliver|retire|revoke> [--plan <path>]';

/**
 * Reads `--step <name>` (or `REKEY_STEP`) and `--plan <path>` (or `REKEY_PLAN`,
 * default {@link PLAN_MOUNT_PATH}). Arguments win over the environment.
 * @throws ValidationError (code `ROTATOR_ARGS`) with one line naming the argument
 */
export function parseRotatorArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): RotatorArgs {
  const given: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (name !== '--step' && name !== '--plan') {
      throw invalid(`rotator arguments has an unknown argument: got ${JSON.stringify(arg)}. ${USAGE}.`);
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw invalid(`rotator ${name} needs a value: got nothing. ${USAGE}.`);
    given[name] = value;
  }
  const step = given['--step'] ?? env['REKEY_STEP'];
  if (step === undefined || step === '') {
    throw invalid(`rotator --step is required: got nothing. ${USAGE} (or set REKEY_STEP).`);
  }
  if (!(STEP_NAMES as readonly string[]).includes(step)) {
    throw invalid(`rotator --step must be one of ${STEP_NAMES.join(', ')}: got ${JSON.stringify(step)}. Fix the Job's args (rekey synth renders them), or upgrade rekey.`);
  }
  const planPath = given['--plan'] ?? (env['REKEY_PLAN'] || PLAN_MOUNT_PATH);
  return { step: step as StepName, planPath };
}

function invalid(message: string): ValidationError {
  return new ValidationError(message, { code: 'ROTATOR_ARGS' });
}
