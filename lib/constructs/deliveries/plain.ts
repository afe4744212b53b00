import { k8s } from 'cdk8s-plus-28';
import { jsonObject } from '../json-object.js';
import type { Construct } from 'constructs';
import { credentialsIni } from '../../core/alias-set.js';
import { sortKeys, type DeliveryKind, type StagingRenderContext, type TargetRenderContext } from './delivery-kind.js';

/** A plain Secret per target, the value in git. Local clusters only. */
export function plainDelivery(): DeliveryKind {
  return {
    kind: 'plain',
    chartProblem: () => undefined,
    entryMismatch: (entry) =>
      entry.accessKeyId === null
        ? { field: 'accessKeyId', what: 'is unknown (drawn in the cluster), plain delivery needs the pair in the ledger', value: null }
        : entry.plainSecretAccessKey === undefined
          ? { field: 'plainSecretAccessKey', what: 'is missing for plain delivery', value: undefined }
          : undefined,
    recordMismatch: () => undefined,
    material: (t) => ({ target: `${t.namespace}/${t.secretName}`, delivery: 'plain' }),
    renderTarget(parent: Construct, ctx: TargetRenderContext) {
      ctx.warnPlain();
      const secret = ctx.entry.plainSecretAccessKey!;
      const data: Record<string, string> = {};
      for (const a of ctx.aliases) {
        if (a.credentialsFile) data[a.credentialsFile] = credentialsIni(a.profile!, ctx.entry.accessKeyId!, secret).revealBytes().toString('base64');
        else {
          data[a.accessKey!] = b64(ctx.entry.accessKeyId!);
          data[a.secretKey!] = secret.revealBytes().toString('base64');
        }
      }
      for (const [k, v] of Object.entries(ctx.extraKeys)) data[k] = b64(v);
      jsonObject<k8s.KubeSecretProps>(parent, 'Resource', k8s.KubeSecret.GVK, {
        metadata: {
          name: ctx.target.secretName,
          namespace: ctx.target.namespace,
          labels: { ...ctx.labels },
          annotations: { ...ctx.annotations, 'rekey.dev/warning': 'plain delivery: this secret is stored in git in clear; local clusters only' },
        },
        type: 'Opaque',
        data: sortKeys(data),
      });
    },
    renderStaging(parent: Construct, ctx: StagingRenderContext) {
      jsonObject<k8s.KubeSecretProps>(parent, 'staging', k8s.KubeSecret.GVK, {
        metadata: { name: ctx.name, namespace: ctx.namespace, labels: { ...ctx.labels }, annotations: { ...ctx.annotations } },
        type: 'Opaque',
        data: { 'access-key': b64(ctx.entry.accessKeyId!), 'secret-key': ctx.entry.plainSecretAccessKey!.revealBytes().toString('base64') },
      });
    },
  };
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}
