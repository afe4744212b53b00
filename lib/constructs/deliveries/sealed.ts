import type { Construct } from 'constructs';
import { SealedSecret, type SealedSecretProps } from '../../../imports/bitnami.com.js';
import { jsonObject } from '../json-object.js';
import { sealingScopeAnnotations, type SealingScopeName } from '../../core/sealing-scope.js';
import { sortKeys, type DeliveryKind, type StagingRenderContext, type TargetRenderContext } from './delivery-kind.js';

/** A Bitnami SealedSecret per target, sealed offline with the controller's certificate. */
export function sealedDelivery(scope: SealingScopeName): DeliveryKind {
  return {
    kind: 'sealed',
    scope,
    chartProblem: (fingerprint) => (fingerprint ? undefined : 'sealed delivery needs the sealing certificate fingerprint'),
    entryMismatch(entry, fingerprint, previousFingerprints = []) {
      if (entry.accessKeyId === null) return { field: 'accessKeyId', what: 'is unknown (drawn in the cluster), sealed delivery needs a pair sealed offline', value: null };
      const sealedFor = entry.certificateFingerprint;
      // the controller keeps its earlier keys: values sealed for a trusted previous certificate still unseal
      if (sealedFor === fingerprint || (sealedFor !== undefined && previousFingerprints.includes(sealedFor))) return undefined;
      return {
        field: 'certificateFingerprint',
        what: `does not match the spec's sealing certificate ${fingerprint ?? '(none)'} nor a trusted previous one (sealing.previousFingerprints: ${previousFingerprints.join(', ') || 'none'})`,
        value: sealedFor,
        ...(sealedFor !== undefined ? { otherFix: `add ${sealedFor} to sealing.previousFingerprints if the controller still holds that key` } : {}),
      };
    },
    recordMismatch(record, aliases) {
      const at = `targets ${record.namespace}/${record.secretName}`;
      if (!record.sealed) return { field: at, what: 'has no sealed values', value: undefined };
      if (record.scope !== scope) return { field: at, what: `was sealed for scope ${record.scope}, the spec says ${scope}`, value: record.scope };
      if (aliases.some((a) => a.credentialsFile) && !record.sealed.credentialsFile) {
        return { field: at, what: 'has no sealed credentials file for the aws-credentials-file alias', value: undefined };
      }
      return undefined;
    },
    material: (t, record) => ({ ...record.sealed!, target: `${t.namespace}/${t.secretName}` }),
    renderTarget(parent: Construct, ctx: TargetRenderContext) {
      const sealed = ctx.record.sealed!;
      const encryptedData: Record<string, string> = {};
      for (const a of ctx.aliases) {
        if (a.credentialsFile) encryptedData[a.credentialsFile] = sealed.credentialsFile!;
        else {
          encryptedData[a.accessKey!] = sealed.accessKeyId;
          encryptedData[a.secretKey!] = sealed.secretAccessKey;
        }
      }
      const { namespace, secretName: name } = ctx.target;
      const annotations = { ...ctx.annotations, ...sealingScopeAnnotations(scope) };
      jsonObject<SealedSecretProps>(parent, 'Resource', SealedSecret.GVK, {
        metadata: { name, namespace, labels: { ...ctx.labels }, annotations },
        spec: {
          encryptedData: sortKeys(encryptedData),
          template: {
            type: 'Opaque',
            metadata: { name, namespace, labels: { ...ctx.labels }, annotations },
            ...(Object.keys(ctx.extraKeys).length ? { data: sortKeys(ctx.extraKeys) } : {}),
          },
        },
      });
    },
    renderStaging(parent: Construct, ctx: StagingRenderContext) {
      const s = ctx.entry.staging.sealed!;
      const metadata = { name: ctx.name, namespace: ctx.namespace, labels: { ...ctx.labels }, annotations: { ...ctx.annotations } };
      jsonObject<SealedSecretProps>(parent, 'staging', SealedSecret.GVK, {
        metadata,
        spec: { encryptedData: { 'access-key': s.accessKeyId, 'secret-key': s.secretAccessKey }, template: { type: 'Opaque', metadata } },
      });
    },
  };
}
