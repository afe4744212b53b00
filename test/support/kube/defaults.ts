/**
 * The defaulting the API server applies to what the simulated controllers and kubectl read back
 * (K8S pkg/apis/apps/v1/defaults.go, pkg/apis/batch/v1/defaults.go, pkg/apis/core/v1/defaults.go):
 * only the fields that change behaviour here.
 */
import type { ResourceDef } from './resources.js';
import { isObj, type KubeObject, type Obj } from './types.js';

function obj(parent: Obj, key: string): Obj {
  if (!isObj(parent[key])) parent[key] = {};
  return parent[key] as Obj;
}

function podSpecDefaults(spec: Obj, restartPolicy = 'Always'): void {
  spec.restartPolicy ??= restartPolicy;
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  for (const c of Array.isArray(spec.containers) ? spec.containers : []) {
    if (!isObj(c)) continue;
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.imagePullPolicy ??= typeof c.image === 'string' && (c.image.endsWith(':latest') || !c.image.includes(':')) ? 'Always' : 'IfNotPresent';
    c.resources ??= {};
  }
}

function templateDefaults(spec: Obj, restartPolicy?: string): void {
  const template = obj(spec, 'template');
  podSpecDefaults(obj(template, 'spec'), restartPolicy);
}

export function applyDefaults(def: ResourceDef, o: KubeObject): void {
  const spec = isObj(o.spec) ? o.spec : undefined;
  switch (`${def.group}/${def.kind}`) {
    case '/Pod':
      if (spec) podSpecDefaults(spec);
      break;
    case '/Secret':
      o.type ??= 'Opaque';
      // stringData is write-only: the API server merges it into data (base64) and drops it
      if (isObj(o.stringData)) {
        const data = isObj(o.data) ? o.data : {};
        for (const [k, v] of Object.entries(o.stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
        o.data = data;
      }
      delete o.stringData;
      break;
    case 'apps/Deployment':
      if (!spec) break;
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      {
        const strategy = obj(spec, 'strategy');
        strategy.type ??= 'RollingUpdate';
        if (strategy.type === 'RollingUpdate') {
          const ru = obj(strategy, 'rollingUpdate');
          ru.maxUnavailable ??= '25%';
          ru.maxSurge ??= '25%';
        }
      }
      templateDefaults(spec);
      break;
    case 'apps/ReplicaSet':
      if (!spec) break;
      spec.replicas ??= 1;
      templateDefaults(spec);
      break;
    case 'apps/StatefulSet':
      if (!spec) break;
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= 'OrderedReady';
      spec.revisionHistoryLimit ??= 10;
      {
        const strategy = obj(spec, 'updateStrategy');
        // an empty type becomes RollingUpdate WITH rollingUpdate {partition: 0};
        // an explicit RollingUpdate without rollingUpdate stays null (SetDefaults_StatefulSet)
        if (strategy.type === undefined) {
          strategy.type = 'RollingUpdate';
          strategy.rollingUpdate ??= { partition: 0 };
        } else if (strategy.type === 'RollingUpdate' && isObj(strategy.rollingUpdate)) {
          strategy.rollingUpdate.partition ??= 0;
        }
      }
      templateDefaults(spec);
      break;
    case 'apps/DaemonSet':
      if (!spec) break;
      spec.revisionHistoryLimit ??= 10;
      {
        const strategy = obj(spec, 'updateStrategy');
        strategy.type ??= 'RollingUpdate';
        if (strategy.type === 'RollingUpdate') {
          const ru = obj(strategy, 'rollingUpdate');
          ru.maxUnavailable ??= 1;
          ru.maxSurge ??= 0;
        }
      }
      templateDefaults(spec);
      break;
    case 'batch/Job':
      if (!spec) break;
      spec.completions ??= 1;
      spec.parallelism ??= 1;
      spec.backoffLimit ??= 6;
      spec.completionMode ??= 'NonIndexed';
      spec.suspend ??= false;
      templateDefaults(spec, 'Never');
      break;
    case 'policy/PodDisruptionBudget':
      break;
    default:
      break;
  }
}

/**
 * Create-time fields the API server derives from the new object's uid: a Job's generated selector
 * and pod template labels (K8S pkg/registry/batch/job/strategy.go generateSelector), unless
 * spec.manualSelector.
 */
export function applyCreateDefaults(def: ResourceDef, o: KubeObject): void {
  if (def.group !== 'batch' || def.kind !== 'Job' || !isObj(o.spec) || o.spec.manualSelector === true) return;
  const uid = o.metadata.uid ?? '';
  const name = o.metadata.name ?? '';
  const labels = { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name };
  o.spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  const template = obj(o.spec, 'template');
  const tm = obj(template, 'metadata');
  tm.labels = { ...(isObj(tm.labels) ? tm.labels : {}), ...labels };
}
