import { readFile } from 'node:fs/promises';
import { RekeyError, ValidationError } from '../core/errors.js';
import { JsonLineLogger, type Logger } from '../core/log.js';
import { parsePlanText, type RotationPlan } from '../core/plan.js';
import { parseRotatorArgs, type RotatorArgs } from './args.js';
import type { Guard, StepContext, StepTable } from './context.js';
import { RotatorExitCode } from './errors.js';
import { guard as defaultGuard } from './guard.js';
import { STEPS } from './steps/index.js';
import { closeSession } from './session.js';
import type { Sleep } from './clock.js';
import type { KubeSide } from './kube/api.js';
import type { ProviderFactory, ReadMounted } from './context.js';

/** What the rotator process runs on; everything injectable for tests. */
export interface RotatorOptions {
  /** Arguments after the script path. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** @default - JSON lines on stderr */
  readonly logger?: Logger;
  /** @default - the system clock */
  readonly now?: () => Date;
  /** @default - reads the file */
  readonly readPlan?: (path: string) => Promise<string>;
  /** @default STEPS */
  readonly steps?: StepTable;
  /** @default the rotator's guard */
  readonly guard?: Guard;
  /** @default - setTimeout */
  readonly sleep?: Sleep;
  /** @default - from KUBECONFIG or the in-cluster service account */
  readonly kube?: KubeSide;
  /** @default - node:fs readFile */
  readonly readMounted?: ReadMounted;
  /** @default - from the plan and the mounted admin Secret */
  readonly provider?: ProviderFactory;
  /** @default - env REKEY_POD_NAME / POD_NAME / HOSTNAME */
  readonly holder?: string;
  /** Test hook at every step boundary. @default - none */
  readonly boundary?: (point: string) => void | Promise<void>;
}

/**
 * The rotator: arguments → plan → guard → the step from the table → exit code.
 * Logs one JSON line per event (key IDs and names, never a secret); an error is logged
 * exactly once, here, and mapped to an exit code — never a silent success.
 */
export async function runRotator(options: RotatorOptions): Promise<RotatorExitCode> {
  const now = options.now ?? (() => new Date());
  const logger = options.logger ?? new JsonLineLogger(undefined, now);
  let args: RotatorArgs | undefined;
  let plan: RotationPlan | undefined;
  let ctx: StepContext | undefined;
  try {
    args = parseRotatorArgs(options.argv, options.env);
    plan = await loadPlan(args.planPath, options.readPlan ?? ((p) => readFile(p, 'utf8')));
    ctx = {
      step: args.step,
      plan,
      logger,
      now,
      env: options.env,
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(options.kube ? { kube: options.kube } : {}),
      ...(options.readMounted ? { readMounted: options.readMounted } : {}),
      ...(options.provider ? { provider: options.provider } : {}),
      ...(options.holder ? { holder: options.holder } : {}),
      ...(options.boundary ? { boundary: options.boundary } : {}),
    };
    const fields = { step: args.step, credential: plan.credential, generation: plan.generation, attempt: plan.attempt, accessKeyId: plan.accessKeyId, previousAccessKeyId: plan.previousAccessKeyId };
    logger.log('info', 'rotator started', fields);
    const verdict = await (options.guard ?? defaultGuard)(ctx);
    if (!verdict.proceed) {
      logger.log('info', `rotator ${args.step} for credential ${plan.credential} generation ${plan.generation}: nothing to do: ${verdict.reason}`, { ...fields, outcome: 'skipped' });
      return RotatorExitCode.OK;
    }
    const result = await (options.steps ?? STEPS)[args.step](ctx);
    logger.log('info', `rotator ${args.step} for credential ${plan.credential} generation ${plan.generation}: ${result.outcome}`, {
      ...result.evidence,
      ...fields,
      outcome: result.outcome,
    });
    return RotatorExitCode.OK;
  } catch (e) {
    return report(logger, e, args, plan);
  } finally {
    if (ctx) await closeSession(ctx).catch(() => undefined);
  }
}

async function loadPlan(path: string, read: (path: string) => Promise<string>): Promise<RotationPlan> {
  let text: string;
  try {
    text = await read(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new ValidationError(
      `rotator plan ${path} cannot be read: got ${code}. Mount the plan ConfigMap's plan.json there (rekey synth renders it), or set REKEY_PLAN / --plan.`,
      { code: 'PLAN_UNREADABLE' },
    );
  }
  return parsePlanText(text, `rotator plan ${path}`);
}

/** Logs the error once, as one JSON line, and returns its exit code. */
function report(logger: Logger, e: unknown, args: RotatorArgs | undefined, plan: RotationPlan | undefined): RotatorExitCode {
  const where = {
    step: args?.step ?? null,
    credential: plan?.credential ?? null,
    generation: plan?.generation ?? null,
    accessKeyId: plan?.accessKeyId ?? null,
  };
  if (e instanceof RekeyError) {
    const exitCode = e instanceof ValidationError ? RotatorExitCode.INVALID_INPUT : RotatorExitCode.STEP_FAILED;
    const keyId = 'keyId' in e && (typeof e.keyId === 'string' || e.keyId === null) ? e.keyId : where.accessKeyId;
    logger.log('error', e.message, { ...where, accessKeyId: keyId, code: e.code, exitCode });
    return exitCode;
  }
  // a bug: no stack trace (the bundle is minified), the error's name and message only
  const name = e instanceof Error ? e.name : typeof e;
  const message = e instanceof Error ? e.message : String(e);
  logger.log(
    'error',
    `rotator ${args?.step ?? '(no step)'} internal error: got ${name}: ${message}. This is a bug in rekey: report it with this line; the old key stays valid.`,
    { ...where, code: 'INTERNAL', exitCode: RotatorExitCode.STEP_FAILED },
  );
  return RotatorExitCode.STEP_FAILED;
}
