import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadProjectIn } from '../../project/spec-app.js';
import { renderTable } from '../table.js';

/** Options of `status`. */
export interface StatusOptions {
  readonly dir: string;
  /** @default - now */
  readonly now?: Date;
  /** @default 'dist' */
  readonly outdir?: string;
}

/** One credential's rotation state. */
export interface CredentialStatus {
  readonly credential: string;
  readonly provider: string;
  readonly generation: number;
  readonly accessKeyId: string | null;
  readonly rotatedAt: string | null;
  readonly ageDays: number | null;
  readonly nextDue: string | null;
  /** `never-rotated`, `ok`, `due` (past its interval), `manual`. */
  readonly state: 'never-rotated' | 'ok' | 'due' | 'manual';
  /** The rotation policy's mode. */
  readonly mode: 'Manual' | 'TimeBased';
  readonly consumers: string[];
}

/** Every credential's age, next due date, generation and consumers (sorted by name). */
export function status(options: StatusOptions): CredentialStatus[] {
  const dir = resolve(options.dir);
  const project = loadProjectIn(dir);
  const now = options.now ?? new Date();
  const consumers = consumersFromDist(join(dir, options.outdir ?? 'dist'));
  return [...project.spec.credentials]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c): CredentialStatus => {
      const e = project.ledger.get(c.name);
      const policy = c.rotationPolicy;
      const rotatedAt = e ? new Date(e.rotatedAt) : undefined;
      const due = rotatedAt && policy.mode === 'TimeBased' ? new Date(rotatedAt.getTime() + policy.intervalDays * 86_400_000) : undefined;
      let state: CredentialStatus['state'];
      if (!e) state = 'never-rotated';
      else if (!due) state = 'manual';
      else state = now.getTime() >= due.getTime() ? 'due' : 'ok';
      return {
        credential: c.name,
        provider: c.provider,
        generation: e?.generation ?? 0,
        accessKeyId: e?.accessKeyId ?? null,
        rotatedAt: e?.rotatedAt ?? null,
        ageDays: rotatedAt ? Math.floor((now.getTime() - rotatedAt.getTime()) / 86_400_000) : null,
        nextDue: due ? due.toISOString() : null,
        state,
        mode: policy.mode,
        consumers: consumers.get(c.name) ?? c.consumers.map((w) => `${w.kind}/${w.namespace}/${w.name}`).sort(),
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
      String(r.generation),
      r.accessKeyId ?? '-',
      r.ageDays === null ? '-' : `${r.ageDays}d`,
      r.nextDue ? r.nextDue.slice(0, 10) : '-',
      r.state,
      r.consumers.length ? r.consumers.join(', ') : '-',
    ]),
  );
}

/** Consumers per credential, read from the rendered plan ConfigMaps (covers TypeScript-bound consumers too). */
function consumersFromDist(dist: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!existsSync(dist)) return out;
  for (const f of readdirSync(dist).filter((n) => n.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dist, f), 'utf8'))) {
      const o = doc.toJS() as { kind?: string; metadata?: { name?: string }; data?: Record<string, string> } | null;
      if (o?.kind !== 'ConfigMap' || !o.metadata?.name?.startsWith('rekey-') || !o.data?.['plan.json']) continue;
      const plan = JSON.parse(o.data['plan.json']) as { credential: string; consumers: Array<{ kind: string; namespace: string; name: string }> };
      out.set(plan.credential, plan.consumers.map((c) => `${c.kind}/${c.namespace}/${c.name}`).sort());
    }
  }
  return out;
}
