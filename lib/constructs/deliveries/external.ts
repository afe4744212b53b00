import type { Construct } from 'constructs';
import {
  ExternalSecret,
  ExternalSecretSpecRefreshPolicy,
  ExternalSecretSpecSecretStoreRefKind,
  ExternalSecretSpecTargetCreationPolicy,
  ExternalSecretSpecTargetDeletionPolicy,
  ExternalSecretSpecTargetTemplateEngineVersion,
  ExternalSecretSpecTargetTemplateMergePolicy,
} from '../../../imports/external-secrets.io.js';
import type { AliasSet } from '../../core/alias-set.js';
import { sortKeys, type DeliveryKind, type RemotePair, type TargetRenderContext } from './delivery-kind.js';

/** The annotation on an ExternalSecret (and its target Secret template) that carries the credential's generation. */
export const GENERATION_ANNOTATION = 'rekey.dev/generation';

/**
 * The template variables the ExternalSecret's `data` fetches the two halves into (never Secret
 * keys: with `mergePolicy: Replace` the Secret holds only the template's keys).
 */
export const TEMPLATE_VARIABLES = { accessKeyId: 'rekeyAccessKeyId', secretAccessKey: 'rekeySecretAccessKey' } as const;

const ref = (v: string) => `{{ .${v} }}`;

/**
 * A Go template that prints `value` literally: only `{{` opens an action, so a value holding it
 * is written as a quoted string action (Go's string literal syntax accepts JSON's escapes).
 */
export function literalTemplate(value: string): string {
  return value.includes('{{') ? `{{ ${JSON.stringify(value)} }}` : value;
}

/**
 * The `target.template.data` of a credential: every alias key from the one remote pair (the
 * aws-credentials-file alias as an INI file built by the template engine), then the static
 * extra keys and the extra templated keys.
 */
export function templateData(
  aliases: readonly AliasSet[],
  extraKeys: Readonly<Record<string, string>>,
  extraTemplateData: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const id = ref(TEMPLATE_VARIABLES.accessKeyId);
  const secret = ref(TEMPLATE_VARIABLES.secretAccessKey);
  const data: Record<string, string> = {};
  for (const a of aliases) {
    if (a.credentialsFile) data[a.credentialsFile] = `[${a.profile}]\naws_access_key_id = ${id}\naws_secret_access_key = ${secret}\n`;
    else {
      data[a.accessKey!] = id;
      data[a.secretKey!] = secret;
    }
  }
  for (const [k, v] of Object.entries(extraKeys)) data[k] = literalTemplate(v);
  for (const [k, v] of Object.entries(extraTemplateData)) data[k] = v;
  return sortKeys(data);
}

/**
 * `external`: an External Secrets Operator `ExternalSecret` (external-secrets.io/v1) per
 * target, named like the target Secret, in its namespace, whose `target.template` produces
 * every alias key and the static extra keys from one remote pair.
 *
 * - `refreshPolicy: OnChange`: the operator fetches only when the ExternalSecret's metadata or
 *   spec changes. The rendered object carries the generation (annotation and template
 *   annotation), so the rotation pull request changes it, and it is applied after the
 *   PushSecret put the new pair in the store; nothing else (a periodic timer, a store edit)
 *   changes a target Secret behind the rotator's back. The deliver step may force a fetch by
 *   changing the annotation `force-sync`.
 * - `creationPolicy: Owner`: the operator owns the target Secret (re-created when deleted,
 *   removed with the ExternalSecret when the credential is removed from git).
 * - `deletionPolicy: Retain`: if the remote key disappears from the store, the target keeps the
 *   last pair rather than losing it under running consumers.
 */
export function externalDelivery(remote: RemotePair, extraTemplateData: Readonly<Record<string, string>>): DeliveryKind {
  return {
    kind: 'external',
    remote,
    refreshTarget: { apiGroup: 'external-secrets.io', resource: 'externalsecrets' },
    keyProblem(secretKeys) {
      for (const k of Object.keys(extraTemplateData)) {
        if (secretKeys.includes(k)) {
          return {
            field: ['templateData', k],
            what: `would replace key "${k}" of an alias set or extraKeys (every alias must hold the pair itself)`,
            value: extraTemplateData[k],
            fix: 'Give the templated key another name, or remove it.',
          };
        }
      }
      return undefined;
    },
    chartProblem: () => undefined,
    entryMismatch: (entry) =>
      entry.keySource !== 'providerDrawn' ? { field: 'keySource', what: 'is not providerDrawn (external delivery obtains the pair in the cluster)', value: entry.keySource ?? 'rekeyDrawn' } : undefined,
    recordMismatch: () => undefined,
    material: (t) => ({
      target: `${t.namespace}/${t.secretName}`,
      delivery: 'external',
      store: `${remote.store.kind}/${remote.store.name}`,
      remoteKey: remote.remoteKey,
    }),
    renderTarget(parent: Construct, ctx: TargetRenderContext) {
      const { namespace, secretName: name } = ctx.target;
      const generation = String(ctx.entry.generation);
      const annotations = { ...ctx.annotations, [GENERATION_ANNOTATION]: generation };
      const half = (variable: string, property: string) => ({ secretKey: variable, remoteRef: { key: remote.remoteKey, property } });
      new ExternalSecret(parent, 'Resource', {
        metadata: { name, namespace, labels: { ...ctx.labels }, annotations },
        spec: {
          refreshPolicy: ExternalSecretSpecRefreshPolicy.ON_CHANGE,
          secretStoreRef: {
            kind: remote.store.kind === 'ClusterSecretStore' ? ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE : ExternalSecretSpecSecretStoreRefKind.SECRET_STORE,
            name: remote.store.name,
          },
          data: [half(TEMPLATE_VARIABLES.accessKeyId, remote.properties.accessKeyId), half(TEMPLATE_VARIABLES.secretAccessKey, remote.properties.secretAccessKey)],
          target: {
            name,
            creationPolicy: ExternalSecretSpecTargetCreationPolicy.OWNER,
            deletionPolicy: ExternalSecretSpecTargetDeletionPolicy.RETAIN,
            template: {
              type: 'Opaque',
              engineVersion: ExternalSecretSpecTargetTemplateEngineVersion.V2,
              mergePolicy: ExternalSecretSpecTargetTemplateMergePolicy.REPLACE,
              metadata: { labels: { ...ctx.labels }, annotations },
              data: templateData(ctx.aliases, ctx.extraKeys, extraTemplateData),
            },
          },
        },
      });
    },
    renderStaging() {
      // never called: a store-held delivery's staging Secret is written by the activate Job
    },
  };
}
