/**
 * ExternalSecret / PushSecret objects shaped like rekey's `external` delivery (one remote key,
 * properties accessKeyId/secretAccessKey, aliases and a credentials file through
 * `target.template`, the generation on the target Secret), for the ESO fake's tests and the
 * rotator's provider-drawn tests. They validate against the upstream CRDs (eso.test.ts checks).
 */
import type { KubeObject } from './types.js';

export const STORE_REF = { kind: 'ClusterSecretStore', name: 'vault' } as const;
export const STORE_KEY = 'ClusterSecretStore/vault';
export const REMOTE_KEY = 'rekey/uploads';

export interface EsFixtureOptions {
  readonly name?: string;
  readonly namespace?: string;
  readonly refreshPolicy?: 'OnChange' | 'Periodic' | 'CreatedOnce';
  readonly refreshInterval?: string;
  /** Extra template.data entries. */
  readonly templateData?: Readonly<Record<string, string>>;
}

/** The ExternalSecret of a target at `generation`. */
export function externalSecret(generation: number, o: EsFixtureOptions = {}): KubeObject {
  const name = o.name ?? 'uploads-s3';
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name, namespace: o.namespace ?? 'ingest', labels: { 'app.kubernetes.io/managed-by': 'rekey', 'rekey.dev/credential': 'uploads' } },
    spec: {
      refreshPolicy: o.refreshPolicy ?? 'OnChange',
      ...(o.refreshInterval ? { refreshInterval: o.refreshInterval } : {}),
      secretStoreRef: { ...STORE_REF },
      target: {
        name,
        creationPolicy: 'Owner',
        template: {
          engineVersion: 'v2',
          type: 'Opaque',
          metadata: { annotations: { 'rekey.dev/generation': String(generation) } },
          data: {
            'access-key': '{{ .accessKeyId }}',
            'secret-key': '{{ .secretAccessKey }}',
            AWS_ACCESS_KEY_ID: '{{ .accessKeyId }}',
            AWS_SECRET_ACCESS_KEY: '{{ .secretAccessKey }}',
            credentials: '[default]\naws_access_key_id = {{ .accessKeyId }}\naws_secret_access_key = {{ .secretAccessKey }}\n',
            region: 'us-east-1',
            ...(o.templateData ?? {}),
          },
        },
      },
      data: [
        { secretKey: 'accessKeyId', remoteRef: { key: REMOTE_KEY, property: 'accessKeyId' } },
        { secretKey: 'secretAccessKey', remoteRef: { key: REMOTE_KEY, property: 'secretAccessKey' } },
      ],
    },
  };
}

/** The per-generation PushSecret of the staging Secret. */
export function pushSecret(generation: number, o: { readonly deletionPolicy?: 'None' | 'Delete'; readonly updatePolicy?: 'Replace' | 'IfNotExists'; readonly refreshInterval?: string } = {}): KubeObject {
  return {
    apiVersion: 'external-secrets.io/v1alpha1',
    kind: 'PushSecret',
    metadata: { name: `rekey-uploads-g${generation}-push`, namespace: 'rekey-system', labels: { 'app.kubernetes.io/managed-by': 'rekey', 'rekey.dev/credential': 'uploads' } },
    spec: {
      refreshInterval: o.refreshInterval ?? '0s',
      updatePolicy: o.updatePolicy ?? 'Replace',
      deletionPolicy: o.deletionPolicy ?? 'None',
      secretStoreRefs: [{ ...STORE_REF }],
      selector: { secret: { name: `rekey-uploads-g${generation}-staging` } },
      data: [
        { match: { secretKey: 'access-key', remoteRef: { remoteKey: REMOTE_KEY, property: 'accessKeyId' } } },
        { match: { secretKey: 'secret-key', remoteRef: { remoteKey: REMOTE_KEY, property: 'secretAccessKey' } } },
      ],
    },
  };
}
