/**
 * The credential's Lease (coordination.k8s.io/v1): one rotator acts per credential at a time.
 *
 * Acquire as client-go's leader election does: GET; absent → create; held by us, released
 * (holder "") or expired → take over with a PUT carrying the resourceVersion (409 = someone else
 * won: observe again). Expiry is judged the client-go way — the holder's record has not changed
 * for leaseDurationSeconds as seen by OUR clock — and, for a Lease we see for the first time, by
 * its renewTime + duration (so a Lease abandoned long ago is taken over at once). A rotator that
 * finds the Lease held waits (one GET per backoff, for one object) up to the deadline, then
 * fails naming the holder. A lost reply to our create/replace is observed again: holder = us
 * counts as acquired. Renewal runs in the background; release writes holder "" and duration 1.
 * The timing comes from the plan (`plan.lease`: duration, renew interval, acquire wait).
 */
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import type { StepContext } from '../context.js';
import { rotationError } from '../errors.js';
import { backoff, realSleep } from '../clock.js';
import { describeKubeError, isConflict, isNotFound, isTransient, type KubeSide } from './api.js';


export interface HeldLease {
  readonly name: string;
  readonly holder: string;
  /** False once a renewal found another holder: the step must stop before its next change. */
  held(): boolean;
  /** Throws LEASE_LOST when the Lease is no longer ours. */
  assertHeld(): void;
  /** Stops renewing and releases the Lease (best effort). */
  release(): Promise<void>;
}

function micro(d: Date): V1MicroTime {
  return new V1MicroTime(d.getTime());
}

function timeOf(v: unknown): number | undefined {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/**
 * Acquires the plan's Lease for `holder`, waiting while another live rotator holds it, up to
 * `waitSeconds`. @throws RotationError LEASE_HELD naming the holder
 */
export async function acquireLease(ctx: StepContext, kube: KubeSide, holder: string, waitSeconds: number): Promise<HeldLease> {
  const sleep = ctx.sleep ?? realSleep;
  const name = ctx.plan.leaseName;
  const namespace = ctx.plan.rotatorNamespace;
  const deadline = ctx.now().getTime() + waitSeconds * 1000;
  // what we saw of the other holder, and when (our clock): expiry is judged from this
  let seen: { key: string; at: number } | undefined;
  let lastHolder = '';
  for (let attempt = 0; ; attempt++) {
    const nowMs = ctx.now().getTime();
    let lease: V1Lease | undefined;
    try {
      lease = await kube.coordination.readNamespacedLease({ name, namespace });
    } catch (e) {
      if (!isNotFound(e)) {
        if (!isTransient(e) || nowMs >= deadline) throw leaseFailed(ctx, 'read', e);
        await sleep(backoff(attempt, 250, 4000));
        continue;
      }
    }
    const spec = lease?.spec ?? {};
    const current = spec.holderIdentity ?? '';
    const duration = spec.leaseDurationSeconds ?? ctx.plan.lease.durationSeconds;
    const renewed = timeOf(spec.renewTime) ?? timeOf(spec.acquireTime) ?? 0;
    const key = `${current}|${renewed}|${lease?.metadata?.resourceVersion ?? ''}`;
    if (seen?.key !== key) seen = { key, at: nowMs };
    const expired = nowMs - seen.at >= duration * 1000 || nowMs - renewed >= duration * 1000;
    if (lease !== undefined && current !== '' && current !== holder && !expired) {
      if (nowMs >= deadline) {
        throw rotationError(
          ctx,
          'LEASE_HELD',
          `Lease ${namespace}/${name} is held by another rotator: got holder ${current} (renewed ${new Date(renewed).toISOString()}). Another step of this credential is running; this Job fails without changing anything and its retry waits again.`,
        );
      }
      if (lastHolder !== current) ctx.logger.log('info', `rotator ${ctx.step} waits for Lease ${namespace}/${name} held by ${current}`, { step: ctx.step, credential: ctx.plan.credential, holder: current });
      lastHolder = current;
      await sleep(Math.min(backoff(attempt, 1000, 5000), Math.max(1, deadline - nowMs)));
      continue;
    }
    const now = ctx.now();
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...(lease?.metadata ?? {}), name, namespace },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: ctx.plan.lease.durationSeconds,
        acquireTime: current === holder && spec.acquireTime ? micro(new Date(timeOf(spec.acquireTime)!)) : micro(now),
        renewTime: micro(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (lease !== undefined && current !== holder ? 1 : 0),
      },
    };
    await ctx.boundary?.('kube:lease:before');
    let written = false;
    try {
      if (lease === undefined) await kube.coordination.createNamespacedLease({ namespace, body });
      else await kube.coordination.replaceNamespacedLease({ name, namespace, body });
      written = true;
    } catch (e) {
      if ((isConflict(e) || isTransient(e)) && ctx.now().getTime() < deadline) {
        // someone else won, or our own write landed and the reply was lost: observe again
        await sleep(backoff(Math.min(attempt, 3), 100, 1000));
        continue;
      }
      throw leaseFailed(ctx, 'write', e);
    }
    if (written) {
      await ctx.boundary?.('kube:lease:after');
      if (lastHolder) ctx.logger.log('info', `rotator ${ctx.step} took Lease ${namespace}/${name} after ${lastHolder}`, { step: ctx.step, credential: ctx.plan.credential, holder });
      return startRenewing(ctx, kube, holder);
    }
  }
}

function startRenewing(ctx: StepContext, kube: KubeSide, holder: string): HeldLease {
  const sleep = ctx.sleep ?? realSleep;
  const name = ctx.plan.leaseName;
  const namespace = ctx.plan.rotatorNamespace;
  const { durationSeconds, renewSeconds } = ctx.plan.lease;
  let stopped = false;
  let lost = false;
  let lastRenew = ctx.now().getTime();
  const renewOnce = async (): Promise<void> => {
    try {
      const lease = await kube.coordination.readNamespacedLease({ name, namespace });
      if ((lease.spec?.holderIdentity ?? '') !== holder) {
        lost = true;
        return;
      }
      lease.spec = { ...lease.spec, renewTime: micro(ctx.now()), acquireTime: lease.spec?.acquireTime ? micro(new Date(timeOf(lease.spec.acquireTime)!)) : undefined };
      await kube.coordination.replaceNamespacedLease({ name, namespace, body: lease });
      lastRenew = ctx.now().getTime();
    } catch {
      // a failed renewal is retried next round; the Lease is lost only when another holder shows
      if (ctx.now().getTime() - lastRenew >= durationSeconds * 1000) lost = true;
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await sleep(renewSeconds * 1000);
      if (stopped) break;
      await renewOnce();
    }
  })();
  loop.catch(() => undefined);
  return {
    name,
    holder,
    held: () => !lost,
    assertHeld: () => {
      if (lost) {
        throw rotationError(ctx, 'LEASE_LOST', `Lease ${namespace}/${name} is no longer held by ${holder}: got another holder or no renewal for ${durationSeconds} s. The step stopped before its next change; re-run it.`);
      }
    },
    release: async () => {
      stopped = true;
      if (lost) return;
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const lease = await kube.coordination.readNamespacedLease({ name, namespace });
          if ((lease.spec?.holderIdentity ?? '') !== holder) return;
          lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: micro(ctx.now()), acquireTime: lease.spec?.acquireTime ? micro(new Date(timeOf(lease.spec.acquireTime)!)) : undefined };
          await kube.coordination.replaceNamespacedLease({ name, namespace, body: lease });
          return;
        } catch (e) {
          if (!isConflict(e) && !isTransient(e)) return;
        }
      }
    },
  };
}

function leaseFailed(ctx: StepContext, what: string, e: unknown) {
  return rotationError(ctx, 'KUBE_ERROR', `Lease ${ctx.plan.rotatorNamespace}/${ctx.plan.leaseName} ${what} failed: got ${describeKubeError(e)}. Grant the rotator get/create/update on leases in its namespace, then re-run.`, { cause: e });
}
