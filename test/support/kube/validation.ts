/**
 * Schema validation of everything stored (client and controller writes), with the kubernetes-models validators (the Kubernetes
 * OpenAPI schema compiled with ajv), like test/support/validate.ts. Errors become the API
 * server's 422 Invalid field errors. Custom resources without a model (Rollout) are not checked.
 * The messages are the validators' (`spec.template.spec.containers[0].name: Required value`),
 * not kube-apiserver's hand-written validation text.
 */
import { SealedSecret } from '@kubernetes-models/sealed-secrets/bitnami.com/v1alpha1/SealedSecret';
import { ControllerRevision } from 'kubernetes-models/apps/v1/ControllerRevision';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ReplicaSet } from 'kubernetes-models/apps/v1/ReplicaSet';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Lease } from 'kubernetes-models/coordination.k8s.io/v1/Lease';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Event } from 'kubernetes-models/v1/Event';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

import type { FieldError } from './errors.js';
import { apiVersionOf, type ResourceDef } from './resources.js';
import type { KubeObject } from './types.js';

type ModelClass = new (data: never) => { validate(): void };

const MODELS: Readonly<Record<string, ModelClass>> = {
  'v1/Namespace': Namespace as ModelClass,
  'v1/Pod': Pod as ModelClass,
  'v1/Secret': Secret as ModelClass,
  'v1/ConfigMap': ConfigMap as ModelClass,
  'v1/ServiceAccount': ServiceAccount as ModelClass,
  'v1/Service': Service as ModelClass,
  'v1/Event': Event as ModelClass,
  'apps/v1/Deployment': Deployment as ModelClass,
  'apps/v1/ReplicaSet': ReplicaSet as ModelClass,
  'apps/v1/StatefulSet': StatefulSet as ModelClass,
  'apps/v1/DaemonSet': DaemonSet as ModelClass,
  'apps/v1/ControllerRevision': ControllerRevision as ModelClass,
  'batch/v1/Job': Job as ModelClass,
  'batch/v1/CronJob': CronJob as ModelClass,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as ModelClass,
  'coordination.k8s.io/v1/Lease': Lease as ModelClass,
  'rbac.authorization.k8s.io/v1/Role': Role as ModelClass,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding as ModelClass,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy as ModelClass,
  'bitnami.com/v1alpha1/SealedSecret': SealedSecret as ModelClass,
};

interface AjvError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
}

/** `/spec/template/spec/containers/0` → `spec.template.spec.containers[0]` */
function fieldPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, t) => (/^\d+$/.test(t) ? `${acc}[${t}]` : acc ? `${acc}.${t}` : t), '');
}

/** The field errors of `object` under its kind's schema (empty when valid or when no model exists). */
export function validateObject(def: ResourceDef, object: KubeObject): FieldError[] {
  const Model = MODELS[`${apiVersionOf(def)}/${def.kind}`];
  if (!Model) return [];
  try {
    new Model({ ...object, apiVersion: apiVersionOf(def), kind: def.kind } as never).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: AjvError[] }).errors;
    if (!Array.isArray(errors)) throw err;
    return errors.map((e) => {
      if (e.keyword === 'required') {
        const base = fieldPath(e.instancePath);
        return { field: base ? `${base}.${String(e.params.missingProperty)}` : String(e.params.missingProperty), detail: 'Required value', type: 'FieldValueRequired' };
      }
      return { field: fieldPath(e.instancePath) || '<root>', detail: `Invalid value: ${e.message ?? e.keyword}`, type: 'FieldValueInvalid' };
    });
  }
}
