/**
 * The Job controller (K8S pkg/controller/job, 1.31+ terminal conditions): creates pods
 * (`<job>-<5 chars>`, min(parallelism, completions − succeeded) active), counts succeeded/failed
 * pods, and finishes with SuccessCriteriaMet → Complete (completionTime), or FailureTarget →
 * Failed for BackoffLimitExceeded (failed > backoffLimit) and DeadlineExceeded
 * (activeDeadlineSeconds on the fake clock). Terminal conditions wait until no pod is active or
 * terminating. What a pod does is the kubelet's pod runner. Not modelled: retry back-off delays,
 * restartPolicy OnFailure in-place restarts (a failing container fails the pod), Indexed
 * completion, podFailurePolicy, successPolicy, suspend, ttlSecondsAfterFinished.
 */
import { isTerminating, podPhase } from '../pod-util.js';
import type { Registry } from '../registry.js';
import { res } from '../resources.js';
import type { Condition, KubeObject, Obj } from '../types.js';
import type { Controller, ControllerContext } from './controller.js';
import { createPod, num, ownedBy, spec, status, writeStatus } from './util.js';

function condition(type: string, reason: string, message: string, now: string): Condition {
  return { type, status: 'True', lastProbeTime: now, lastTransitionTime: now, reason, message };
}

export class JobController implements Controller {
  public readonly name = 'job';

  public step({ registry, clock }: ControllerContext): void {
    for (const job of registry.list(res('jobs'))) this.#sync(registry, job, clock.time(), clock.nowMs());
  }

  #sync(registry: Registry, job: KubeObject, now: string, nowMs: number): void {
    const s = spec(job);
    const st = status(job);
    let conds = (Array.isArray(st.conditions) ? st.conditions : []) as Condition[];
    const has = (t: string): boolean => conds.some((c) => c.type === t && c.status === 'True');
    if (has('Complete') || has('Failed')) return;
    const completions = num(s.completions, 1);
    const parallelism = num(s.parallelism, 1);
    const backoffLimit = num(s.backoffLimit, 6);
    const pods = ownedBy(registry, res('pods'), job);
    const succeeded = pods.filter((p) => podPhase(p) === 'Succeeded').length;
    const failed = pods.filter((p) => podPhase(p) === 'Failed').length;
    let active = pods.filter((p) => podPhase(p) !== 'Succeeded' && podPhase(p) !== 'Failed' && !isTerminating(p));
    const startTime = typeof st.startTime === 'string' ? st.startTime : now;
    const extra: Obj = {};
    const stopActive = (): void => {
      for (const p of active) registry.delete(res('pods'), p.metadata.namespace, p.metadata.name ?? '');
      active = [];
    };
    if (has('SuccessCriteriaMet') || has('FailureTarget')) {
      stopActive();
    } else if (failed > backoffLimit) {
      conds = [...conds, condition('FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit', now)];
      stopActive();
    } else if (typeof s.activeDeadlineSeconds === 'number' && Date.parse(startTime) + s.activeDeadlineSeconds * 1000 <= nowMs) {
      conds = [...conds, condition('FailureTarget', 'DeadlineExceeded', 'Job was active longer than specified deadline', now)];
      stopActive();
    } else if (succeeded >= completions) {
      conds = [...conds, condition('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods', now)];
      stopActive();
    } else {
      const want = Math.min(parallelism, completions - succeeded) - active.length;
      for (let i = 0; i < want; i++) active.push(createPod(registry, res('jobs'), job, (s.template ?? {}) as Obj, { generateName: `${job.metadata.name}-` }));
    }
    const terminating = ownedBy(registry, res('pods'), job).filter((p) => isTerminating(p) && podPhase(p) !== 'Succeeded' && podPhase(p) !== 'Failed').length;
    if (active.length === 0 && terminating === 0) {
      const target = conds.find((c) => (c.type === 'SuccessCriteriaMet' || c.type === 'FailureTarget') && c.status === 'True');
      if (target?.type === 'SuccessCriteriaMet' && conds === st.conditions) {
        conds = [...conds, condition('Complete', target.reason ?? '', target.message ?? '', now)];
        extra.completionTime = now;
      } else if (target?.type === 'FailureTarget' && conds === st.conditions) {
        conds = [...conds, condition('Failed', target.reason ?? '', target.message ?? '', now)];
      }
    }
    const next: Obj = {
      ...(conds.length > 0 ? { conditions: conds } : {}),
      startTime,
      ...(typeof st.completionTime === 'string' ? { completionTime: st.completionTime } : {}),
      ...extra,
      ...(active.length > 0 ? { active: active.length } : {}),
      ...(succeeded > 0 ? { succeeded } : {}),
      ...(failed > 0 ? { failed } : {}),
      terminating,
      uncountedTerminatedPods: {},
      ready: active.filter((p) => ((p.status as Obj | undefined)?.conditions as Condition[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True')).length,
    };
    const current = registry.find(res('jobs'), job.metadata.namespace, job.metadata.name ?? '');
    if (current) writeStatus(registry, res('jobs'), current, next);
  }
}
