/**
 * The staging Secret of a provider-drawn key (`plan.stagingSecret` in the rotator namespace,
 * keys STAGING_KEYS): the activate Job writes the pair it obtained in the cluster, and the
 * per-generation PushSecret pushes it to the store the targets' ExternalSecrets read. Read and
 * written through the API (the Job cannot mount a Secret that does not exist when it starts):
 * the rendered Role grants `create` on secrets in the rotator namespace and `get`/`update` on
 * this one by name.
 *
 * Writes observe first and converge after a lost reply: create; on 409 (it exists: our own
 * create whose reply was lost, or an earlier run) read it and compare — the same pair is done,
 * another pair is replaced only when the caller says the old one is dead (`replace`). The secret
 * never appears in a log line or an error: only key IDs and names.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { STAGING_KEYS } from '../../core/plan.js';
import { SecretValue } from '../../core/secret-value.js';
import type { KeyPair } from '../../providers/provider.js';
import type { StepContext } from '../context.js';
import { rotationError } from '../errors.js';
import { backoff, realSleep } from '../clock.js';
import { isConflict, isNotFound, isTransient, type KubeSide } from './api.js';
import { kubeFailed } from './record.js';

/** Annotation on the staging Secret: the access-key ID it holds (not secret). */
export const STAGED_KEY_ANNOTATION = 'rekey.dev/access-key-id';

function pairOf(secret: V1Secret | undefined): KeyPair | undefined {
  const id = secret?.data?.[STAGING_KEYS.accessKey];
  const sk = secret?.data?.[STAGING_KEYS.secretKey];
  if (id === undefined || sk === undefined) return undefined;
  return { accessKeyId: Buffer.from(id, 'base64').toString('utf8').trim(), secretAccessKey: SecretValue.fromBuffer(Buffer.from(sk, 'base64')) };
}

async function readRaw(ctx: StepContext, kube: KubeSide): Promise<V1Secret | undefined> {
  const sleep = ctx.sleep ?? realSleep;
  const { stagingSecret: name, rotatorNamespace: namespace } = ctx.plan;
  for (let attempt = 0; ; attempt++) {
    try {
      return await kube.core.readNamespacedSecret({ name, namespace });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      if (!isTransient(e) || attempt >= 8) throw kubeFailed(ctx, `read staging Secret ${namespace}/${name}`, e);
      await sleep(backoff(attempt, 250, 4000));
    }
  }
}

/** The staged pair, or undefined when the staging Secret does not exist (or holds no pair). */
export async function readStaging(ctx: StepContext, kube: KubeSide): Promise<KeyPair | undefined> {
  return pairOf(await readRaw(ctx, kube));
}

function body(ctx: StepContext, pair: KeyPair, base?: V1Secret): V1Secret {
  const { stagingSecret: name, rotatorNamespace: namespace, credential, generation } = ctx.plan;
  return {
    ...(base ?? {}),
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      ...(base?.metadata ?? {}),
      name,
      namespace,
      labels: { ...(base?.metadata?.labels ?? {}), 'app.kubernetes.io/managed-by': 'rekey', 'rekey.dev/credential': credential },
      annotations: { ...(base?.metadata?.annotations ?? {}), [STAGED_KEY_ANNOTATION]: pair.accessKeyId, 'rekey.dev/generation': String(generation) },
    },
    type: 'Opaque',
    data: {
      [STAGING_KEYS.accessKey]: Buffer.from(pair.accessKeyId).toString('base64'),
      [STAGING_KEYS.secretKey]: pair.secretAccessKey.revealBytes().toString('base64'),
    },
  };
}

/**
 * Post-condition: the staging Secret holds exactly `pair`. A staging Secret holding another pair
 * is replaced only with `replace: true` (the caller proved that pair dead at the provider);
 * otherwise it is an error (KEY_MISMATCH) and nothing is written.
 */
export async function writeStaging(ctx: StepContext, kube: KubeSide, pair: KeyPair, options: { readonly replace: boolean }): Promise<void> {
  const sleep = ctx.sleep ?? realSleep;
  const { stagingSecret: name, rotatorNamespace: namespace } = ctx.plan;
  for (let attempt = 0; ; attempt++) {
    const current = await readRaw(ctx, kube);
    const held = pairOf(current);
    if (held && held.accessKeyId === pair.accessKeyId && held.secretAccessKey.equals(pair.secretAccessKey)) return;
    if (held && !options.replace) {
      throw rotationError(ctx, 'KEY_MISMATCH', `staging Secret ${namespace}/${name} holds another pair than the one drawn: got access-key ID ${held.accessKeyId}, drew ${pair.accessKeyId}. Re-run activate (it reuses a staged key the provider still holds); nothing was overwritten.`, { keyId: pair.accessKeyId });
    }
    ctx.lease?.assertHeld();
    await ctx.boundary?.('kube:staging:before');
    try {
      if (current === undefined) await kube.core.createNamespacedSecret({ namespace, body: body(ctx, pair) });
      else await kube.core.replaceNamespacedSecret({ name, namespace, body: body(ctx, pair, current) });
    } catch (e) {
      // 409: it exists now (our own lost create) or changed under us: observe again
      if (isConflict(e) || (isTransient(e) && attempt < 8)) {
        await sleep(backoff(Math.min(attempt, 4), 250, 4000));
        continue;
      }
      throw kubeFailed(ctx, `write staging Secret ${namespace}/${name}`, e);
    }
    await ctx.boundary?.('kube:staging:after');
    ctx.logger.log('info', `rotator ${ctx.step} for credential ${ctx.plan.credential} generation ${ctx.plan.generation}: staged key ${pair.accessKeyId} in Secret ${namespace}/${name}`, { step: ctx.step, credential: ctx.plan.credential, generation: ctx.plan.generation, accessKeyId: pair.accessKeyId, stagingSecret: `${namespace}/${name}` });
    return;
  }
}
