import type { Construct } from 'constructs';
import { stringify } from 'yaml';
import { SecretProviderClass } from '../../../imports/secrets-store.csi.x-k8s.io.js';
import type { AliasSet } from '../../core/alias-set.js';
import type { DeliveryKind, RemotePair, TargetRef, TargetRenderContext } from './delivery-kind.js';

/** The CSI providers rekey renders `parameters.objects` for. */
export const CSI_PROVIDERS = ['vault', 'aws'] as const;
export type CsiProviderName = (typeof CSI_PROVIDERS)[number];

/** The Secrets Store CSI driver's name, as pods reference it in `volumes[].csi.driver`. */
export const CSI_DRIVER = 'secrets-store.csi.k8s.io';

/** The driver's `--rotation-poll-interval` default (2m): the minimum time between two refreshes of one mount. */
export const DEFAULT_ROTATION_POLL_INTERVAL_SECONDS = 120;

/** The file the AWS provider mounts the whole Secrets Manager secret (JSON) under; the aliases come from its jmesPath entries. */
export const AWS_PAIR_FILE = 'rekey-pair.json';

/** What the consumers and the retire step need to know about a csi delivery. */
export interface CsiSettings {
  readonly provider: CsiProviderName;
  /** The driver's `--rotation-poll-interval`, in seconds. */
  readonly rotationPollIntervalSeconds: number;
  /** Whether the driver runs with `--enable-secret-rotation=true`. */
  readonly secretRotationEnabled: boolean;
  /** The SecretProviderClass of a target: same namespace and name as the target Secret. */
  secretProviderClass(target: TargetRef): string;
}

/** The resolved, validated settings of `Delivery.csi`. */
export interface CsiDeliverySettings {
  readonly provider: CsiProviderName;
  readonly parameters: Readonly<Record<string, string>>;
  readonly remote: RemotePair;
  /** Vault: `secretPath`; aws: the Secrets Manager secret name or ARN. */
  readonly objectPath: string;
  readonly rotationPollIntervalSeconds: number;
  readonly secretRotationEnabled: boolean;
}

/**
 * A Secrets Store CSI driver delivery: one `secrets-store.csi.x-k8s.io/v1` SecretProviderClass per
 * target (same namespace and name as the target Secret) whose provider mounts one file per alias
 * key from the store-held pair, and whose `secretObjects` sync every alias key into the target
 * Secret for env consumers. The pair reaches the store like for `external` (see `RemotePair`);
 * nothing secret is in git.
 */
export function csiDelivery(s: CsiDeliverySettings): DeliveryKind {
  const settings: CsiSettings = {
    provider: s.provider,
    rotationPollIntervalSeconds: s.rotationPollIntervalSeconds,
    secretRotationEnabled: s.secretRotationEnabled,
    secretProviderClass: (t) => t.secretName,
  };
  return {
    kind: 'csi',
    remote: s.remote,
    csi: settings,
    chartProblem: () => undefined,
    entryMismatch: () => undefined,
    recordMismatch: () => undefined,
    // references only: the store, the remote key and its properties (the checksum adds generation and key ID)
    material: (t) => ({
      target: `${t.namespace}/${t.secretName}`,
      delivery: 'csi',
      store: `${s.remote.store.kind}/${s.remote.store.name}`,
      remoteKey: s.remote.remoteKey,
      properties: `${s.remote.properties.accessKeyId}/${s.remote.properties.secretAccessKey}`,
    }),
    renderTarget(parent: Construct, ctx: TargetRenderContext) {
      const { namespace, secretName } = ctx.target;
      const files = aliasFiles(ctx.aliases);
      new SecretProviderClass(parent, 'Resource', {
        metadata: { name: settings.secretProviderClass(ctx.target), namespace, labels: { ...ctx.labels }, annotations: { ...ctx.annotations } },
        spec: {
          provider: s.provider,
          parameters: { ...sorted(s.parameters), objects: objectsParameter(s, files) },
          secretObjects: [
            {
              secretName,
              type: 'Opaque',
              labels: { ...ctx.labels },
              data: files.map((f) => ({ objectName: f.file, key: f.file })),
            },
          ],
        },
      });
    },
    // store-held: no staging object of its own (the generic store-held path renders what the rotator needs)
    renderStaging: () => undefined,
  };
}

interface AliasFile {
  /** The mounted file name and the synced Secret key (the alias key). */
  readonly file: string;
  readonly half: 'accessKeyId' | 'secretAccessKey';
}

function aliasFiles(aliases: readonly AliasSet[]): AliasFile[] {
  const out: AliasFile[] = [];
  for (const a of aliases) {
    if (a.credentialsFile) continue; // refused by the Credential (no CSI provider renders an INI file)
    out.push({ file: a.accessKey!, half: 'accessKeyId' }, { file: a.secretKey!, half: 'secretAccessKey' });
  }
  return out;
}

/** The provider's `objects` parameter, a YAML string as the provider parses it. */
function objectsParameter(s: CsiDeliverySettings, files: readonly AliasFile[]): string {
  if (s.provider === 'vault') {
    // hashicorp/vault-csi-provider: one object per file, each read from secretPath / secretKey
    return stringify(files.map((f) => ({ objectName: f.file, secretPath: s.objectPath, secretKey: s.remote.properties[f.half] })), { lineWidth: 0 });
  }
  // aws/secrets-store-csi-driver-provider-aws: one Secrets Manager secret (a JSON document with one
  // property per half), each alias file extracted with jmesPath
  return stringify(
    [
      {
        objectName: s.objectPath,
        objectType: 'secretsmanager',
        objectAlias: AWS_PAIR_FILE,
        jmesPath: files.map((f) => ({ path: jmesPathOf(s.remote.properties[f.half]), objectAlias: f.file })),
      },
    ],
    { lineWidth: 0 },
  );
}

/** A JMESPath identifier: bare when it can be, else a quoted identifier. */
function jmesPathOf(property: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(property) ? property : JSON.stringify(property);
}

function sorted(o: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]!]));
}
