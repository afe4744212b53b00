/**
 * The rotation record: the ConfigMap `rekey-<credential>-status` in the rotator namespace,
 * written only by the rotator. One data key per generation (`g<N>.json`, JSON) so a step of
 * generation N can read what N-1 did; never a secret (key IDs, names, times, counts).
 *
 * Writes are optimistic (resourceVersion): read, apply an idempotent mutation, replace; a 409
 * re-reads; a write whose reply was lost (no answer, 5xx, 504) is observed again and counts as
 * done when the ConfigMap already holds what it wanted.
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { StepContext } from '../context.js';
import { rotationError } from '../errors.js';
import { backoff, realSleep } from '../clock.js';
import { describeKubeError, isConflict, isNotFound, isTransient, type KubeSide } from './api.js';

/** A pod the retire (or revoke) step replaced, or found stale. */
export interface PodEvidence {
  readonly namespace: string;
  readonly pod: string;
  /**
   * `evicted`, `deleted` (OnDelete StatefulSet), `finished` (a Job pod that started stale ran to
   * its end), `refreshed` (a file consumer: `at` is when the kubelet refresh bound passed),
   * `stale` (left alive by revoke).
   */
  readonly how: 'evicted' | 'deleted' | 'finished' | 'refreshed' | 'stale';
  readonly at: string;
}

/** Which call proved what during the revoke. */
export interface RevokeEvidence {
  /** The revoked key. */
  readonly keyId: string;
  disabledAt?: string;
  /** verifyRejected after disable: attempts, control key. */
  rejectedAfterDisable?: string;
  deletedAt?: string;
  rejectedAfterDelete?: string;
}

/**
 * `drawing`: a provider-drawn key is being obtained (the marker is written before the
 * provider call, so a re-run can tell an orphan of a lost reply from a key it must not touch);
 * `accessKeyId` is null until the pair is in the staging Secret.
 */
export type RecordPhase = 'drawing' | 'activated' | 'delivered' | 'retired' | 'revoked';

/** What one generation's steps observed and did. */
export interface GenerationRecord {
  readonly generation: number;
  phase: RecordPhase;
  /** The new key; null only while `phase` is `drawing` and the pair is not staged yet. */
  readonly accessKeyId: string | null;
  /** The key this generation retires: the plan's, or (provider-drawn) generation N-1's key from this record. */
  readonly previousAccessKeyId: string | null;
  /**
   * Provider-drawn keys: when the first draw of this generation started (before CreateAccessKey).
   * A key at the provider created at or after it that is neither the previous nor the staged key
   * is an orphan of a lost reply (never delivered) and is deleted before drawing again.
   */
  drawStartedAt?: string;
  /** Provider-drawn keys: orphans of lost replies this generation deleted (key IDs). */
  orphansDeleted?: string[];
  /** When the new key was first proven accepted (the overlap counts from here); empty while drawing. */
  activatedAt: string;
  /** Calls that proved the new key: `verifyAccepted <attempts> attempts`. */
  activationEvidence: string;
  deliveredAt?: string;
  /** External targets the deliver step force-synced (`namespace/name` → the last force-sync value). */
  forceSynced?: Record<string, string>;
  /**
   * Per target `namespace/name`: the upper bound of the moment the Secret first held this
   * generation's key (or a newer one) — the first time a rotator saw it. Set once, never moved.
   */
  targetsFirstSeen: Record<string, string>;
  replacedPods: PodEvidence[];
  /** Consumer pods still stale when the panic revoke ran. */
  stalePodsAtRevoke?: string[];
  revoke?: RevokeEvidence;
  retiredAt?: string;
  /** Set when a later generation finished this one's retire. */
  finishedByGeneration?: number;
}

export interface RotationRecord {
  /** Generation → record. */
  readonly generations: ReadonlyMap<number, GenerationRecord>;
  readonly resourceVersion: string | undefined;
}

const KEY = (g: number) => `g${g}.json`;
const KEY_RE = /^g(\d+)\.json$/;

function parse(cm: V1ConfigMap | undefined, ctx: StepContext): RotationRecord {
  const generations = new Map<number, GenerationRecord>();
  for (const [k, v] of Object.entries(cm?.data ?? {})) {
    const m = KEY_RE.exec(k);
    if (!m) continue;
    try {
      generations.set(Number(m[1]), JSON.parse(v) as GenerationRecord);
    } catch {
      throw rotationError(ctx, 'RECORD_INVALID', `rotation record ${ctx.plan.rotatorNamespace}/${ctx.plan.recordConfigMap} key ${k} is not JSON: got ${JSON.stringify(v.slice(0, 40))}. The record is written by the rotator only: restore it from the previous Job's log or delete the key to start over (the old key then stays valid).`);
    }
  }
  return { generations, resourceVersion: cm?.metadata?.resourceVersion };
}

/** Reads the record (an absent ConfigMap is an empty record). */
export async function readRecord(ctx: StepContext, kube: KubeSide): Promise<RotationRecord> {
  const sleep = ctx.sleep ?? realSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      const cm = await kube.core.readNamespacedConfigMap({ name: ctx.plan.recordConfigMap, namespace: ctx.plan.rotatorNamespace });
      return parse(cm, ctx);
    } catch (e) {
      if (isNotFound(e)) return parse(undefined, ctx);
      if (!isTransient(e) || attempt >= 8) throw kubeFailed(ctx, `read rotation record ${ctx.plan.rotatorNamespace}/${ctx.plan.recordConfigMap}`, e);
      await sleep(backoff(attempt, 250, 4000));
    }
  }
}

/**
 * Applies `mutate` to generation `g`'s record and writes it. `mutate` must be idempotent: it is
 * applied to whatever the record holds at each attempt. Returns the record as written.
 */
export async function updateRecord(
  ctx: StepContext,
  kube: KubeSide,
  g: number,
  mutate: (current: GenerationRecord | undefined) => GenerationRecord,
  label = 'record',
): Promise<GenerationRecord> {
  const sleep = ctx.sleep ?? realSleep;
  const name = ctx.plan.recordConfigMap;
  const namespace = ctx.plan.rotatorNamespace;
  for (let attempt = 0; ; attempt++) {
    let cm: V1ConfigMap | undefined;
    try {
      cm = await kube.core.readNamespacedConfigMap({ name, namespace });
    } catch (e) {
      if (!isNotFound(e)) {
        if (!isTransient(e) || attempt >= 10) throw kubeFailed(ctx, `read rotation record ${namespace}/${name}`, e);
        await sleep(backoff(attempt, 250, 4000));
        continue;
      }
    }
    const current = parse(cm, ctx).generations.get(g);
    const next = mutate(current === undefined ? undefined : structuredClone(current));
    const text = JSON.stringify(next);
    if (cm?.data?.[KEY(g)] === text) return next;
    const data = { ...(cm?.data ?? {}), [KEY(g)]: text };
    await ctx.boundary?.(`kube:${label}:before`);
    let written = false;
    try {
      if (cm === undefined) {
        await kube.core.createNamespacedConfigMap({
          namespace,
          body: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'rekey', 'rekey.dev/credential': ctx.plan.credential } },
            data,
          },
        });
      } else {
        await kube.core.replaceNamespacedConfigMap({ name, namespace, body: { ...cm, data } });
      }
      written = true;
    } catch (e) {
      // 409: another writer (or our own lost reply) got there first: re-read and re-apply.
      if (isConflict(e)) continue;
      if (!isTransient(e) || attempt >= 10) throw kubeFailed(ctx, `write rotation record ${namespace}/${name}`, e);
      await sleep(backoff(attempt, 250, 4000));
    }
    if (written) {
      await ctx.boundary?.(`kube:${label}:after`);
      return next;
    }
  }
}

/**
 * The key a generation retires: the plan's `previousAccessKeyId` when it names one (the adopted
 * key, or a rekey-drawn ledger entry), else — provider-drawn keys, whose IDs never reach the
 * ledger — the key generation N-1 activated, from this record. Null: nothing to retire.
 */
export function previousKeyOf(plan: StepContext['plan'], record: RotationRecord): string | null {
  return plan.previousAccessKeyId ?? record.generations.get(plan.generation - 1)?.accessKeyId ?? null;
}

export function kubeFailed(ctx: StepContext, what: string, e: unknown) {
  return rotationError(ctx, 'KUBE_ERROR', `${what} failed: got ${describeKubeError(e)}. Check the rotator's Role and the API server, then re-run (every step is idempotent; the old key stays valid).`, { cause: e });
}
