import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitCode } from '../../core/errors.js';
import type { RekeyModel } from '../../core/model.js';
import type { Ledger } from '../../project/ledger.js';
import { projectFingerprint, readModelCache, writeModelCache, type LedgerSummary } from '../../project/model-cache.js';
import type { CommandArgs } from '../command.js';
import { renderTable } from '../table.js';

/** Options of `status`. */
export interface StatusOptions {
  readonly dir: string;
  /** @default - now */
  readonly now?: Date;
  /** The project's model, when the caller already asked the app for it. @default - asked from the app */
  readonly model?: RekeyModel;
  /** Reuse the model the app emitted for identical project files (see model-cache.ts). @default false */
  readonly cache?: boolean;
}

/** One credential's rotation state. */
export interface CredentialStatus {
  readonly credential: string;
  readonly provider: string;
  readonly generation: number;
  readonly accessKeyId: string | null;
  /** The key recorded by `rekey adopt` for a credential never rotated (the first rotation retires it). */
  readonly adoptedAccessKeyId: string | null;
  readonly rotatedAt: string | null;
  readonly ageDays: number | null;
  readonly nextDue: string | null;
  /** `never-rotated`, `ok`, `due` (past its interval), `manual`. */
  readonly state: 'never-rotated' | 'ok' | 'due' | 'manual';
  /** The rotation policy's mode. */
  readonly mode: 'Manual' | 'TimeBased';
  readonly consumers: string[];
  /** The current generation's retried steps and their attempt numbers (`rekey retry`), if any. */
  readonly attempts: Readonly<Record<string, number>> | null;
  /** The current generation is a `rekey revoke` (no overlap). */
  readonly revoke: boolean;
}

/** What statusRows reads of the ledger: the Ledger itself, or its summary from the model cache. */
export interface LedgerView {
  get(credential: string): { readonly generation: number; readonly accessKeyId: string; readonly rotatedAt: string; readonly attempts?: Readonly<Record<string, number>>; readonly revoke?: true } | undefined;
  adopted(credential: string): { readonly accessKeyId: string } | undefined;
}

/**
 * Every credential's age, next due date, generation and consumers (sorted by name), from the
 * app's model and the ledger. With `cache`, a project whose files are unchanged since the last
 * status is answered from .rekey-cache/ alone: neither the app nor the YAML and schema libraries load.
 */
export async function status(options: StatusOptions): Promise<CredentialStatus[]> {
  const dir = resolve(options.dir);
  const now = options.now ?? new Date();
  const key = options.cache === true && !options.model ? projectFingerprint(dir, REKEY_VERSION) : undefined;
  const hit = key === undefined ? undefined : readModelCache(dir, key);
  if (hit?.ledger) return statusRows(hit.model, summaryView(hit.ledger), now);
  let model = options.model ?? hit?.model;
  if (!model) {
    const { synthesize } = await import('../../project/synth.js');
    model = await synthesize({ dir, outdir: dir, modelOnly: true });
  }
  const { Ledger } = await import('../../project/ledger.js');
  const ledger = Ledger.load(join(dir, 'rekey.ledger.yaml'), 'rekey.ledger.yaml');
  if (key !== undefined) writeModelCache(dir, key, model, summarize(ledger));
  return statusRows(model, ledger, now);
}

function summarize(ledger: Ledger): LedgerSummary {
  const entries: Record<string, LedgerSummary['entries'][string]> = {};
  for (const n of ledger.names()) {
    const e = ledger.get(n)!;
    entries[n] = { generation: e.generation, accessKeyId: e.accessKeyId, rotatedAt: e.rotatedAt, ...(e.attempts ? { attempts: { ...e.attempts } } : {}), ...(e.revoke ? { revoke: true as const } : {}) };
  }
  const adopted: Record<string, { accessKeyId: string }> = {};
  for (const n of ledger.adoptedNames()) adopted[n] = { accessKeyId: ledger.adopted(n)!.accessKeyId };
  return { entries, adopted };
}

function summaryView(s: LedgerSummary): LedgerView {
  return {
    get: (n) => (Object.hasOwn(s.entries, n) ? s.entries[n] : undefined),
    adopted: (n) => (Object.hasOwn(s.adopted, n) ? s.adopted[n] : undefined),
  };
}

/** Changes with every rekey release, so an upgrade misses the model cache: the version of the package this module belongs to. */
const REKEY_VERSION = ownVersion();

function ownVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'cdk8s-rekey') return pkg.version ?? 'unknown';
    } catch {
      // no package.json at this level: look further up
    }
  }
  return 'unknown';
}

/** The status rows of a model and a ledger. */
export function statusRows(model: RekeyModel, ledger: LedgerView, now: Date): CredentialStatus[] {
  return [...model.credentials]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c): CredentialStatus => {
      const e = ledger.get(c.name);
      const policy = c.rotationPolicy;
      const rotatedAt = e ? new Date(e.rotatedAt) : undefined;
      const due = rotatedAt && policy.intervalDays !== null ? new Date(rotatedAt.getTime() + policy.intervalDays * 86_400_000) : undefined;
      let state: CredentialStatus['state'];
      if (!e) state = 'never-rotated';
      else if (!due) state = 'manual';
      else state = now.getTime() >= due.getTime() ? 'due' : 'ok';
      return {
        credential: c.name,
        provider: c.provider.name,
        generation: e?.generation ?? 0,
        accessKeyId: e?.accessKeyId ?? null,
        adoptedAccessKeyId: e ? null : (ledger.adopted(c.name)?.accessKeyId ?? null),
        rotatedAt: e?.rotatedAt ?? null,
        ageDays: rotatedAt ? Math.floor((now.getTime() - rotatedAt.getTime()) / 86_400_000) : null,
        nextDue: due ? due.toISOString() : null,
        state,
        mode: policy.mode,
        consumers: c.consumers.map((w) => `${w.kind}/${w.namespace}/${w.name}`).sort(),
        attempts: e?.attempts && Object.keys(e.attempts).length ? { ...e.attempts } : null,
        revoke: e?.revoke === true,
      };
    });
}

/** Credentials a scheduled CI job should rotate: TimeBased ones past due or never rotated. */
export function dueCredentials(rows: readonly CredentialStatus[]): string[] {
  return rows.filter((r) => r.mode === 'TimeBased' && (r.state === 'due' || r.state === 'never-rotated')).map((r) => r.credential);
}

/** Human table of `status`. */
export function formatStatus(rows: readonly CredentialStatus[]): string {
  return renderTable(
    ['CREDENTIAL', 'PROVIDER', 'GEN', 'ACCESS KEY ID', 'AGE', 'NEXT DUE', 'STATE', 'CONSUMERS'],
    rows.map((r) => [
      r.credential,
      r.provider,
      [String(r.generation), ...(r.revoke ? ['revoke'] : []), ...Object.entries(r.attempts ?? {}).sort().map(([step, a]) => `${step} a${a}`)].join(' '),
      r.accessKeyId ?? (r.adoptedAccessKeyId ? `${r.adoptedAccessKeyId} (adopted)` : '-'),
      r.ageDays === null ? '-' : `${r.ageDays}d`,
      r.nextDue ? r.nextDue.slice(0, 10) : '-',
      r.state,
      r.consumers.length ? r.consumers.join(', ') : '-',
    ]),
  );
}

/** `rekey status [--output json]`. */
export async function run({ values, dir, io }: CommandArgs): Promise<number> {
  const rows = await status({ dir, now: io.now?.(), cache: true });
  io.stdout(values.output === 'json' ? JSON.stringify(rows, null, 2) + '\n' : formatStatus(rows));
  return ExitCode.OK;
}
