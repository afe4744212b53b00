import { drawKeyPair } from '../../core/keygen.js';
import { planAlternate } from '../../providers/alternating.js';
import { alternatingUserNames } from '../../providers/aws-iam/client.js';
import { isProviderError, type AddKeyOptions, type IdentitySpec, type KeyInfo, type KeyPair, type ProviderClient } from '../../providers/provider.js';
import { verifyAccepted } from '../../providers/s3/verify.js';
import type { Step, StepContext } from '../context.js';
import { rotationError } from '../errors.js';
import { iso } from '../clock.js';
import { previousKeyOf, readRecord, updateRecord, type GenerationRecord, type RotationRecord } from '../kube/record.js';
import { readStaging, writeStaging } from '../kube/staging.js';
import { identityOf, providerCall, readStagedPair, verifyConnection, verifyOptions } from '../provider.js';
import { session } from '../session.js';

/**
 * activate: ensure the identity and its policy; add the new key while the old one stays valid;
 * verify it with real S3 calls signed by the new key until accepted or
 * `deadlines.activateSeconds`; write the record (phase activated).
 *
 * Where the pair comes from (plan `keySource`):
 * - `rekeyDrawn` / `ownerSupplied`: the mounted staging Secret; exactly that pair is registered
 *   (the identical pair already registered counts as done; the same ID with another secret is
 *   refused by the provider with KEY_EXISTS).
 * - `providerDrawn`: obtained here and written to the staging Secret through the API, for the
 *   PushSecret to push to the store. IAM draws it (see {@link drawAtProvider}: two-key limit
 *   checked before any change, orphans of lost CreateAccessKey replies deleted); any other
 *   provider takes a pair the rotator draws itself, written to the staging Secret FIRST and then
 *   registered (idempotent), so a lost reply converges.
 * The previous key is the plan's, or generation N-1's key from the record (provider-drawn).
 */
export const activate: Step = async (ctx) => {
  const rec = await activateKey(ctx);
  // named apart from the plan's accessKeyId/previousAccessKeyId, which the run log line adds (null for provider-drawn keys)
  return { outcome: 'done', evidence: { activatedKeyId: rec.accessKeyId, retiringKeyId: rec.previousAccessKeyId, activatedAt: rec.activatedAt, activation: rec.activationEvidence } };
};

/** The activation shared by activate and the panic revoke. */
export async function activateKey(ctx: StepContext): Promise<GenerationRecord> {
  const plan = ctx.plan;
  const s = session(ctx);
  const record = await readRecord(ctx, s.kube);
  const existing = record.generations.get(plan.generation);
  if (existing?.activatedAt && existing.accessKeyId !== null && (plan.accessKeyId === null || existing.accessKeyId === plan.accessKeyId)) return existing;
  const previous = previousKeyOf(plan, record);
  const previousRecord = record.generations.get(plan.generation - 1);
  const drawn = plan.keySource.kind === 'providerDrawn';
  const provider = await s.provider();
  if (drawn && provider === null) {
    throw rotationError(ctx, 'UNSUPPORTED', `keySource providerDrawn needs a provider rekey can call: got provider ${plan.provider.name} of kind ${plan.provider.kind}. An external provider's owner supplies the pair (keySource ownerSupplied); re-render the plan.`, { keyId: null });
  }
  const options: AddKeyOptions = {
    ...(previous ? { currentKeyId: previous } : {}),
    ...(previousRecord?.previousAccessKeyId ? { previousKeyId: previousRecord.previousAccessKeyId } : {}),
  };
  let pair: KeyPair;
  if (provider !== null) {
    const identity = identityOf(ctx);
    await ctx.boundary?.('provider:checkAdmin:before');
    await providerCall(ctx, () => provider.checkAdmin());
    ctx.lease?.assertHeld();
    await ctx.boundary?.('provider:ensureIdentity:before');
    await providerCall(ctx, () => provider.ensureIdentity(identity));
    await ctx.boundary?.('provider:ensureIdentity:after');
    ctx.lease?.assertHeld();
    if (drawn && provider.kind === 'aws-iam') {
      pair = await drawAtProvider(ctx, provider, identity, previous, options);
    } else {
      pair = drawn ? await drawByRotator(ctx, previous) : await readStagedPair(ctx);
      await ctx.boundary?.('provider:addKey:before');
      try {
        await providerCall(ctx, () => provider.addKey(identity, pair, options));
      } catch (e) {
        if (isProviderError(e, 'KEY_EXISTS')) {
          const fix = drawn ? 'Delete the staging Secret only if that key is not in use, then re-run activate' : 'The staged pair and the provider disagree; run rekey rotate again for a fresh pair';
          throw rotationError(ctx, 'KEY_MISMATCH', `the provider holds access-key ID ${pair.accessKeyId} with another secret (or disabled): got KEY_EXISTS from ${provider.kind}. ${fix}. Nothing was changed.`, { keyId: pair.accessKeyId, cause: e });
        }
        throw e;
      }
      await ctx.boundary?.('provider:addKey:after');
    }
  } else {
    pair = await readStagedPair(ctx);
  }
  let evidence = 'external provider: the owner registered the key';
  if (provider !== null) {
    await ctx.boundary?.('provider:verifyAccepted:before');
    const v = await verifyAccepted(await verifyConnection(ctx), pair, verifyOptions(ctx, Math.min(plan.deadlines.activateSeconds, Math.max(plan.deadlines.verifySeconds, 1))));
    evidence = `verifyAccepted ${v.attempts} attempt(s) signed by ${pair.accessKeyId}`;
  }
  const now = iso(ctx.now());
  return updateRecord(ctx, s.kube, plan.generation, (r) => ({
    ...(r ?? {}),
    generation: plan.generation,
    phase: r?.phase && r.phase !== 'drawing' ? r.phase : 'activated',
    accessKeyId: pair.accessKeyId,
    previousAccessKeyId: previous,
    activatedAt: r?.activatedAt || now,
    activationEvidence: r?.activationEvidence || evidence,
    targetsFirstSeen: r?.targetsFirstSeen ?? {},
    replacedPods: r?.replacedPods ?? [],
  }), 'record-activated');
}

/** Records the new key ID while still drawing (the record is deliver's and retire's source of it). */
async function recordDrawn(ctx: StepContext, pair: KeyPair, previous: string | null): Promise<void> {
  const plan = ctx.plan;
  await updateRecord(ctx, session(ctx).kube, plan.generation, (r) => ({
    ...(r ?? {}),
    generation: plan.generation,
    phase: r?.phase ?? 'drawing',
    accessKeyId: pair.accessKeyId,
    previousAccessKeyId: previous,
    activatedAt: r?.activatedAt ?? '',
    activationEvidence: r?.activationEvidence ?? '',
    targetsFirstSeen: r?.targetsFirstSeen ?? {},
    replacedPods: r?.replacedPods ?? [],
  }), 'record-drawn');
}

/**
 * A provider that takes a caller-chosen pair (rustfs, minio, ceph-rgw) with a store-held
 * delivery: reuse the staged pair of an earlier run, else draw one (same alphabet and lengths as
 * `rekey rotate`) and stage it BEFORE registering it, so a crash or a lost reply after the
 * provider call leaves a pair that the re-run registers again (addKey is idempotent per pair).
 */
async function drawByRotator(ctx: StepContext, previous: string | null): Promise<KeyPair> {
  const kube = session(ctx).kube;
  let pair = await readStaging(ctx, kube);
  if (pair === undefined) {
    pair = drawKeyPair(ctx.plan.provider.kind);
    await writeStaging(ctx, kube, pair, { replace: false });
  }
  await recordDrawn(ctx, pair, previous);
  return pair;
}

const fmt = (k: KeyInfo) => `${k.accessKeyId} (${k.status})`;

/**
 * IAM draws the pair (CreateAccessKey returns the secret once). Crash safety without ever
 * leaving a key behind:
 * 1. observe: the staging Secret (a pair an earlier run obtained) and the identity's keys; a
 *    staged key IAM still holds active is reused — nothing is drawn twice;
 * 2. a key that is neither the previous key, nor the alternating standby's previous key, nor the
 *    staged one, and was created at or after this generation's draw marker, is an orphan of a
 *    lost reply: it was never staged, so nobody can hold its secret — it is deleted (logged by ID);
 * 3. the two-key limit, before any change: a `user` that still holds two keys (an inactive one
 *    counts) after that is refused with one line naming the key to delete; an `alternatingUsers`
 *    standby user holding a key other than the plan's previous one is refused as addKey would;
 * 4. the marker (`drawStartedAt`) is written into the record BEFORE CreateAccessKey; the new pair
 *    goes to the staging Secret at once, then its ID into the record.
 * A lost CreateAccessKey reply (KEY_STATE_UNKNOWN) goes round again within the run.
 */
async function drawAtProvider(ctx: StepContext, provider: ProviderClient, identity: IdentitySpec, previous: string | null, options: AddKeyOptions): Promise<KeyPair> {
  const plan = ctx.plan;
  const kube = session(ctx).kube;
  const log = (level: 'info' | 'warn', msg: string, fields: Record<string, string | null>) =>
    ctx.logger.log(level, `rotator ${ctx.step} for credential ${plan.credential} generation ${plan.generation}: ${msg}`, { step: ctx.step, credential: plan.credential, generation: plan.generation, ...fields });
  for (let round = 0; ; round++) {
    const record: RotationRecord = await readRecord(ctx, kube);
    const rec = record.generations.get(plan.generation);
    const staged = await readStaging(ctx, kube);
    const keys = await providerCall(ctx, () => provider.listKeys(identity));
    if (staged) {
      const k = keys.find((x) => x.accessKeyId === staged.accessKeyId);
      if (k?.status === 'active') {
        await recordDrawn(ctx, staged, previous);
        return staged;
      }
      if (k) {
        throw rotationError(ctx, 'KEY_MISMATCH', `the staged key is disabled at ${provider.kind}: got ${fmt(k)} on ${k.owner}. Someone disabled it after this rotation drew it; start a new rotation (rekey rotate) instead of re-running this one. Nothing was changed.`, { keyId: staged.accessKeyId });
      }
    }
    const keep = new Set<string>([previous, options.previousKeyId, staged?.accessKeyId].filter((x): x is string => typeof x === 'string'));
    const marker = rec?.drawStartedAt ? Math.floor(Date.parse(rec.drawStartedAt) / 1000) * 1000 : undefined;
    const orphans = marker === undefined ? [] : keys.filter((k) => !keep.has(k.accessKeyId) && k.createdAt !== undefined && Date.parse(k.createdAt) >= marker);
    const others = keys.filter((k) => !keep.has(k.accessKeyId) && !orphans.includes(k));
    const remaining = keys.length - orphans.length;
    if (identity.kind === 'user' && remaining >= 2) {
      const user = identity.name;
      const del = (id: string) => `aws iam delete-access-key --user-name ${user} --access-key-id ${id}`;
      const fix =
        others.length === 1
          ? `Delete ${others[0]!.accessKeyId} (${del(others[0]!.accessKeyId)}): it is neither the key the consumers hold now (${previous ?? 'none recorded'}) nor one this rotation drew`
          : previous === null
            ? `Delete the one the consumers do not use (${del('<id>')}), and record the one they use with rekey adopt ${plan.credential} --access-key-id <id>`
            : `Delete ${others.map((k) => k.accessKeyId).join(' or ')}, whichever the consumers do not use (${del('<id>')}); the consumers should hold ${previous}`;
      throw rotationError(ctx, 'STEP_FAILED', `IAM user ${user} already holds the maximum of 2 access keys (an inactive key counts): got ${keys.map(fmt).join(' and ')}. ${fix}, then re-run activate; nothing was changed.`, { keyId: null });
    }
    if (identity.kind === 'alternatingUsers') {
      // addKey's standby check, before any change: a refused run must leave no draw marker, or its
      // re-run (a Job retry) would take the very key it refused for an orphan and delete it
      const of = (user: string) => ({ user, keyIds: keys.filter((k) => k.owner === user && !orphans.includes(k)).map((k) => k.accessKeyId) });
      const [a, b] = alternatingUserNames(identity);
      planAlternate(provider.kind, identity.name, [of(a), of(b)], options, undefined);
    }
    for (const o of orphans) {
      log('warn', `deleting orphan key ${o.accessKeyId}: created ${o.createdAt} after the draw started at ${rec!.drawStartedAt}, never staged (a lost CreateAccessKey reply)`, { orphanKeyId: o.accessKeyId });
      ctx.lease?.assertHeld();
      await ctx.boundary?.('provider:deleteOrphan:before');
      await providerCall(ctx, () => provider.deleteKey(identity, o.accessKeyId));
      await ctx.boundary?.('provider:deleteOrphan:after');
      await updateRecord(ctx, kube, plan.generation, (r) => ({ ...r!, orphansDeleted: [...new Set([...(r!.orphansDeleted ?? []), o.accessKeyId])] }), 'record-orphan');
    }
    const now = iso(ctx.now());
    await updateRecord(ctx, kube, plan.generation, (r) => ({
      ...(r ?? {}),
      generation: plan.generation,
      phase: r?.phase ?? 'drawing',
      accessKeyId: r?.accessKeyId ?? null,
      previousAccessKeyId: previous,
      drawStartedAt: r?.drawStartedAt ?? now,
      activatedAt: r?.activatedAt ?? '',
      activationEvidence: r?.activationEvidence ?? '',
      targetsFirstSeen: r?.targetsFirstSeen ?? {},
      replacedPods: r?.replacedPods ?? [],
    }), 'record-draw');
    ctx.lease?.assertHeld();
    await ctx.boundary?.('provider:createKey:before');
    let pair: KeyPair;
    try {
      // never retried blindly: a retry after a lost reply would draw a second key
      pair = await provider.addKey(identity, undefined, options);
    } catch (e) {
      const unknown = isProviderError(e, 'KEY_STATE_UNKNOWN') || isProviderError(e, 'PROVIDER_UNREACHABLE') || isProviderError(e, 'PROVIDER_TIMEOUT') || isProviderError(e, 'PROVIDER_UNAVAILABLE');
      if (unknown && round < 2) {
        log('warn', `CreateAccessKey got no clean answer (${(e as { code?: string }).code ?? 'error'}): observing the provider again`, {});
        continue;
      }
      throw e;
    }
    await ctx.boundary?.('provider:createKey:after');
    log('info', `${provider.kind} drew key ${pair.accessKeyId}`, { accessKeyId: pair.accessKeyId, previousAccessKeyId: previous });
    await writeStaging(ctx, kube, pair, { replace: staged !== undefined });
    await recordDrawn(ctx, pair, previous);
    return pair;
  }
}
