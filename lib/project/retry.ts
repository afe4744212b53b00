import { ValidationError } from '../core/errors.js';
import { Credential } from '../constructs/credential.js';
import type { RotationStep } from '../constructs/rotation/job.js';
import { changeLedger, credentialsNamed, type LedgerChangeOptions } from './rotate.js';

/** Options of `retryRotation`. */
export interface RetryOptions extends LedgerChangeOptions {
  readonly credential: string;
  /** The step to run again. @default - every step of the credential's current generation (each re-run is a no-op when its work is done) */
  readonly step?: string;
}

/** What a retry changed. */
export interface RetriedStep {
  readonly credential: string;
  readonly generation: number;
  readonly step: RotationStep;
  readonly attempt: number;
}

/**
 * `rekey retry`: renders a step of the current generation again under the next attempt number,
 * so its Job gets a new name. Argo CD never re-runs a failed Job whose name and spec are
 * unchanged, and every later sync stops at it; the renamed Job runs, and the failed one is
 * pruned. No key material changes.
 */
export async function retryRotation(options: RetryOptions): Promise<RetriedStep[]> {
  return changeLedger(options, 'rekey retry', (ledger, model) => {
    const [c] = credentialsNamed(model, [options.credential], 'rekey retry');
    const entry = ledger.get(c!.name);
    if (!entry) {
      throw new ValidationError(`rekey retry credential ${c!.name} has no rotation to retry: got a credential never rotated. Run rekey rotate ${c!.name}.`);
    }
    const steps = Credential.stepsOf(entry);
    let chosen: RotationStep[] = steps;
    if (options.step !== undefined) {
      const s = steps.find((x) => x === options.step);
      if (!s) {
        throw new ValidationError(`rekey retry --step is not a step of ${c!.name} generation ${entry.generation}: got ${JSON.stringify(options.step)}. Use one of ${steps.join(', ')}.`);
      }
      chosen = [s];
    }
    const attempts = { ...(entry.attempts ?? {}) };
    const retried = chosen.map((step): RetriedStep => {
      const attempt = (attempts[step] ?? 1) + 1;
      attempts[step] = attempt;
      return { credential: c!.name, generation: entry.generation, step, attempt };
    });
    return { ledger: ledger.with(c!.name, { ...entry, attempts }), result: retried };
  });
}
