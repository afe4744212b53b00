/**
 * What every field of rekey.yaml means, for the JSON Schema an editor shows (`rekey schema`):
 * a `description` on every property, each allowed value explained (`enumDescriptions`, which
 * VS Code and yaml-language-server show for the value under the cursor), and the `default` where
 * the constructs apply one the zod shape does not state. Keyed by the field's path in the spec
 * (`credentials[].rotationPolicy.intervalDays`); kept apart from spec.ts so a new field or variant
 * adds one entry here, and a test fails while any property of the generated schema lacks one.
 */

/** The documentation of one field. */
export interface FieldDoc {
  /** What the field is for, in a sentence or two (plain text: editors show it as is). */
  readonly description: string;
  /**
   * The value used when the field is left out, where the schema does not already state it. Only
   * a real value (editors insert it on completion); say a behaviour in the description instead.
   * @default - none
   */
  readonly default?: unknown;
  /** Each allowed value of an enum (or a variant's discriminator) explained. @default - not an enum */
  readonly values?: Readonly<Record<string, string>>;
}

const SECONDS = (what: string, dflt: number): FieldDoc => ({ description: `${what}, in seconds.`, default: dflt });

export const SPEC_DOCS: Readonly<Record<string, FieldDoc>> = {
  apiVersion: { description: 'The version of this file format.', values: { 'rekey.dev/v1alpha1': 'The current format.' } },
  kind: { description: 'The kind of this document.', values: { RekeyConfig: 'A rekey project: providers, credentials and how they rotate.' } },

  sealing: {
    description:
      "The sealed-secrets controller's public certificate that sealed delivery encrypts with (offline, kubeseal-compatible). Required once a credential uses delivery kind sealed.",
  },
  'sealing.certificate': { description: 'Path of the certificate file (`kubeseal --fetch-cert > sealed-secrets.pem`), relative to rekey.yaml. `rekey rotate` seals new values with it.' },
  'sealing.fingerprint': {
    description: "The certificate's SHA-256 fingerprint (`rekey fingerprint <file>` prints it). Pinned: `rekey rotate` refuses a certificate file with another fingerprint, and every sealed value in the ledger must be sealed for it (or for one of previousFingerprints).",
  },
  'sealing.previousFingerprints': {
    description:
      "Fingerprints of the controller's earlier certificates that are still trusted. The controller renews its sealing key every 30 days (--key-renew-period) and keeps the old keys, so values sealed for them still unseal: after pinning the renewed certificate, list the old fingerprint here and every credential stays valid until its next rotation, which seals with the current certificate. Remove a fingerprint once `rekey status` shows no credential sealed for it.",
    default: [],
  },

  rotator: { description: 'Where and how the rotation Jobs run (the rotator: activate, deliver, retire, revoke).' },
  'rotator.namespace': { description: 'Namespace of the rotation Jobs, their staging Secrets, plans, rotation records and Leases.' },
  'rotator.createNamespace': { description: 'Render the rotator namespace (with Pod Security "restricted" labels). Set false when the namespace already exists.' },
  'rotator.image': {
    description: 'An image that carries the rotator at /rotator/rotator.mjs (built from the project Dockerfile). Default: the stock node:24.22.3-bookworm-slim image runs the rotator bundle ConfigMap.',
  },
  'rotator.apiServer': {
    description: "The Kubernetes API server endpoint, for the rotation pods' egress NetworkPolicy (rekey never looks the cluster up). Required once a credential has been rotated.",
  },
  'rotator.apiServer.cidr': { description: 'The API server endpoint address as a CIDR, e.g. 10.0.0.10/32 (`kubectl get endpoints kubernetes -n default`).' },
  'rotator.apiServer.port': { description: 'The API server endpoint port (the endpoint, not the Service: usually 6443).' },
  'rotator.backoffLimit': { description: 'backoffLimit of every rotation Job: how often a failed step pod is retried before the Job fails.', default: 2 },
  'rotator.jobGraceSeconds': SECONDS("Added to a step's deadline to give each Job's activeDeadlineSeconds", 300),
  'rotator.deadlines': { description: 'How long each rotation step may wait before it fails loudly (nothing is revoked after a timeout).' },
  'rotator.deadlines.activateSeconds': SECONDS('How long the activate step may take to register the new key and see it accepted', 600),
  'rotator.deadlines.deliverSeconds': SECONDS('How long the deliver step waits for every target Secret in the cluster to hold the new key', 900),
  'rotator.deadlines.retireSeconds': SECONDS("How long the retire step waits for consumers to move to the new key before it revokes the old one", 3600),
  'rotator.deadlines.verifySeconds': SECONDS('How long a key check polls (a new key accepted, an old key rejected): IAM keys take seconds to work', 120),
  'rotator.deadlines.kubeletRefreshSeconds': SECONDS('How long file consumers are given for the kubelet to refresh a mounted Secret (its sync period, about 60-90 s)', 90),

  gitops: { description: 'How the GitOps tool that syncs dist/ orders a rotation.' },
  'gitops.tool': {
    description: 'The GitOps tool that syncs dist/.',
    values: {
      argocd: 'Argo CD: one folder, ordered by sync waves.',
      flux: 'Flux: stage folders and Kustomization objects chained with dependsOn (dist/flux/kustomizations.yaml).',
      plain: 'No GitOps tool: stage folders and dist/README.md with the kubectl apply-and-wait order.',
    },
  },
  'gitops.application': { description: 'Argo CD only: render an Application for dist/ into dist/argocd/application.yaml. Default: none is rendered.' },
  'gitops.application.repoURL': { description: 'Git URL of the repository that holds dist/.' },
  'gitops.application.path': { description: 'Folder of dist/ in the repository.', default: 'dist' },
  'gitops.application.targetRevision': { description: 'Branch, tag or commit to sync.', default: 'HEAD' },
  'gitops.application.name': { description: 'Name of the Application.', default: 'rekey' },
  'gitops.application.namespace': { description: 'Namespace of Argo CD.', default: 'argocd' },
  'gitops.application.project': { description: 'Argo CD project of the Application.', default: 'default' },
  'gitops.application.server': { description: 'Destination cluster API URL.', default: 'https://kubernetes.default.svc' },
  'gitops.flux': { description: 'Flux only: where the stage Kustomizations find dist/.' },
  'gitops.flux.name': { description: 'Prefix of the stage Kustomization names (<name>-rotator, …).', default: 'rekey' },
  'gitops.flux.namespace': { description: 'Namespace of the Kustomization objects.', default: 'flux-system' },
  'gitops.flux.sourceName': { description: 'The GitRepository that holds dist/.', default: 'flux-system' },
  'gitops.flux.path': { description: 'Path of dist/ in the repository.', default: './dist' },
  'gitops.flux.interval': { description: 'Reconcile interval (a Go duration such as 10m).', default: '10m' },
  'gitops.flux.timeout': { description: 'Health-check timeout of the stages without a Job (a Go duration).', default: '10m' },

  providers: { description: 'The storage systems whose keys rekey rotates.' },
  'providers[].name': { description: 'Name of the provider; credentials refer to it, and rekey derives object names from it.' },
  'providers[].kind': {
    description: 'The kind of storage, which decides how keys are changed.',
    values: {
      rustfs: 'RustFS, through the MinIO-compatible admin API (serviceAccount, user or root identities).',
      minio: 'MinIO, through its admin API (serviceAccount or user identities; its root is fixed after first start).',
      'ceph-rgw': 'Ceph RADOS Gateway, through the Admin Ops API (user or alternatingUsers identities; use the metadata-master zone in multisite).',
      'aws-iam': 'AWS IAM: keys are drawn by IAM in the cluster (at most two per user).',
      external: 'Keys are changed by someone else: rekey delivers the pair the owner hands it and restarts consumers.',
    },
  },
  'providers[].endpoint': { description: 'S3/admin endpoint URL the rotator calls, e.g. http://rustfs.storage.svc:9000. Required except for aws-iam and external.' },
  'providers[].region': { description: 'SigV4 signing region.' },
  'providers[].namespace': { description: "Namespace of the provider's pods (for its NetworkPolicy and the rotation pods' egress). Required except for aws-iam and external." },
  'providers[].podSelector': { description: "Labels of the provider's pods. Required except for aws-iam and external." },
  'providers[].port': { description: "The provider pods' storage port. Default: the endpoint's port." },
  'providers[].adminCredential': { description: "The Secret (in the rotator namespace) with the provider's admin key pair. Mounted only into rotation Jobs, never into a consumer." },
  'providers[].adminCredential.secretName': { description: 'Name of the Secret holding the admin key pair.' },
  'providers[].adminCredential.accessKeyKey': { description: 'Key of the admin access-key ID in that Secret.' },
  'providers[].adminCredential.secretKeyKey': { description: 'Key of the admin secret key in that Secret.' },
  'providers[].networkPolicy': {
    description: "The provider pods' NetworkPolicy: the storage port only from the provider's namespace, the targets' namespaces, the rotation Jobs and allowFrom.",
    default: { enabled: true, allowFrom: [] },
  },
  'providers[].egress': { description: 'aws-iam: where the rotation pods may reach AWS over HTTPS. Default: TCP 443 to 0.0.0.0/0 (AWS publishes no fixed range); narrow it to your VPC endpoints.' },
  'providers[].egress.cidrs': { description: 'CIDRs the rotation pods may reach (e.g. VPC endpoint ranges).' },
  'providers[].egress.port': { description: 'TCP port. Default: 443.' },
  'providers[].networkPolicy.enabled': { description: 'Render the NetworkPolicy. false prints a warning at synthesis: any pod could reach the storage port.' },
  'providers[].networkPolicy.allowFrom': { description: 'More namespaces whose pods may reach the storage port (e.g. a backup tool).' },

  credentials: { description: 'The access-key/secret-key pairs rekey rotates, where each is delivered and who reads it.' },
  'credentials[].name': { description: 'Name of the credential (a DNS label of at most 40 characters): `rekey rotate <name>`, and the prefix of its rotation objects.' },
  'credentials[].provider': { description: 'Name of the provider (providers[].name) that holds the key.' },
  'credentials[].identity': { description: "The credential's identity at the provider." },
  'credentials[].identity.kind': {
    description: 'How the identity holds keys, which decides whether old and new key can overlap.',
    values: {
      serviceAccount: 'A key under a dedicated parent user, never under root (rustfs, minio): many may coexist, so keys overlap.',
      user: 'A user with several keys (ceph-rgw, aws-iam): keys overlap.',
      alternatingUsers: 'Two users A and B used in turn, as AWS Secrets Manager does.',
      root: "The provider's own root pair (rustfs only): no overlap, an announced-downtime path.",
    },
  },
  'credentials[].identity.name': { description: 'The user (or, for serviceAccount, the parent user) at the provider.' },
  'credentials[].identity.users': { description: 'alternatingUsers only: the two user names. Default: <name>-a and <name>-b.' },
  'credentials[].policy': { description: 'The access policy of the identity, applied by the activate step. Default: none, the identity keeps the access it has.' },
  'credentials[].policy.name': { description: 'Name of the policy at the provider.' },
  'credentials[].policy.document': { description: 'An IAM identity policy document: Version and Statement (Effect, Action or NotAction, Resource or NotResource, optional Sid and Condition).' },
  'credentials[].policy.document.Version': { description: 'The policy language version.', values: { '2012-10-17': 'The current version (quote it in YAML).', '2008-10-17': 'The earlier version.' } },
  'credentials[].policy.document.Id': { description: 'An optional identifier of the policy.' },
  'credentials[].policy.document.Statement': { description: 'One statement or a list of them, each with Effect, Action (or NotAction) and Resource (or NotResource).' },
  'credentials[].aliases': {
    description: 'The key names the consumers expect for the same pair: presets or custom pairs. Every alias holds the identical value.',
    values: {
      generic: 'access-key / secret-key',
      'minio-root': 'root-user / root-password',
      'minio-env': 'MINIO_ROOT_USER / MINIO_ROOT_PASSWORD',
      rustfs: 'RUSTFS_ACCESS_KEY / RUSTFS_SECRET_KEY',
      aws: 'AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY',
      'aws-credentials-file': 'One key, credentials, holding an AWS shared-credentials INI file.',
    },
  },
  'credentials[].aliases[].accessKey': { description: 'A custom alias: the Secret key of the access-key ID.' },
  'credentials[].aliases[].secretKey': { description: 'A custom alias: the Secret key of the secret key.' },
  'credentials[].extraKeys': { description: 'Static keys added to every target Secret (not secret), e.g. endpoint or region.' },
  'credentials[].delivery': { description: 'How the target Secrets reach the cluster.' },
  'credentials[].delivery.kind': {
    description: 'The kind of delivery.',
    values: {
      sealed: 'A Bitnami SealedSecret per target, sealed offline with the sealing certificate.',
      plain: 'A plain Secret with the value in git: local clusters only, with acknowledgeInsecure.',
      external: 'An External Secrets Operator ExternalSecret per target (refreshPolicy OnChange) that builds every alias from one remote pair in a store; keys obtained in the cluster reach the store through a per-generation PushSecret. Nothing secret in git.',
      csi: 'A Secrets Store CSI Driver SecretProviderClass per target whose secretObjects sync every alias into the target Secret; the pair reaches the store through a per-generation PushSecret. The driver must run with --enable-secret-rotation=true.',
    },
  },
  'credentials[].delivery.store': { description: 'external/csi: the External Secrets store (SecretStore or ClusterSecretStore) that holds the pair. rekey references it; it does not create it.' },
  'credentials[].delivery.store.kind': { description: 'The kind of store.', values: { SecretStore: 'A namespaced store of this name in every target namespace and in the rotator namespace.', ClusterSecretStore: 'One cluster-wide store.' } },
  'credentials[].delivery.store.name': { description: 'Name of the store (a DNS subdomain).' },
  'credentials[].delivery.store.acceptsPush': { description: 'Whether the store accepts PushSecret writes. false refuses credentials whose keys are obtained in the cluster (aws-iam, and rustfs/minio/ceph-rgw with a store-held delivery), since they reach the store through a PushSecret.', default: true },
  'credentials[].delivery.remoteKey': { description: 'The key in the store that holds the pair (e.g. platform/reports-s3), one property per half.' },
  'credentials[].delivery.properties': { description: 'The properties of the remote key that hold each half. Default: access-key / secret-key.' },
  'credentials[].delivery.properties.accessKeyId': { description: 'Property holding the access-key ID.' },
  'credentials[].delivery.properties.secretAccessKey': { description: 'Property holding the secret key.' },
  'credentials[].delivery.provider': { description: 'csi: the Secrets Store CSI provider that mounts the pair.', values: { vault: 'HashiCorp Vault (parameters.roleName required).', aws: 'AWS Secrets Manager (parameters.region).' } },
  'credentials[].delivery.parameters': { description: "csi: the SecretProviderClass parameters for the provider (strings), e.g. vault's roleName and vaultAddress, aws's region. rekey writes the objects parameter itself." },
  'credentials[].delivery.objectPath': { description: "csi: where the provider reads the pair: Vault's secretPath (data/… for KV v2) or the AWS secret name. Default: remoteKey." },
  'credentials[].delivery.rotationPollIntervalSeconds': { description: "csi: the driver's --rotation-poll-interval in seconds: the retire step waits it (plus the kubelet refresh bound) before revoking.", default: 120 },
  'credentials[].delivery.secretRotationEnabled': { description: 'csi: whether the driver runs with --enable-secret-rotation=true. false refuses env/envFrom consumers (the synced Secret would flip) and restarts file consumers like env consumers.', default: true },
  'credentials[].delivery.templateData': { description: 'external only: more target keys computed from the pair with the ESO template engine (variables .rekeyAccessKeyId and .rekeySecretAccessKey); may not replace an alias key or an extra key.' },
  'credentials[].delivery.scope': {
    description: 'The SealedSecret scope: what the ciphertext is bound to.',
    values: {
      strict: "The target's namespace and name.",
      'namespace-wide': "The target's namespace: the Secret may be renamed.",
      'cluster-wide': 'Nothing: any namespace and name may unseal it.',
    },
  },
  'credentials[].delivery.acknowledgeInsecure': { description: 'Must be true for plain delivery: the secret is stored in clear in git (the ledger and dist/).' },
  'credentials[].targets': { description: 'Where the credential is delivered: one Secret per namespace that reads it.' },
  'credentials[].targets[].namespace': { description: 'Namespace of the target Secret.' },
  'credentials[].targets[].secretName': { description: 'Name of the target Secret.' },
  'credentials[].consumers': { description: "Workloads rendered elsewhere (Helm charts, other repositories) that read a target: rekey patches their pod template's checksum annotation through a Kustomize Component under dist/components/." },
  'credentials[].consumers[].kind': {
    description: 'The kind of workload.',
    values: {
      Deployment: 'apps/v1 Deployment: rolled by its own rollout.',
      StatefulSet: 'apps/v1 StatefulSet: rolled by its rollout, or pod by pod by the retire step with updateStrategy OnDelete.',
      DaemonSet: 'apps/v1 DaemonSet: rolled by its own rollout.',
      Job: 'batch/v1 Job: pods that started with the old key must finish.',
      CronJob: 'batch/v1 CronJob: the next runs read the new key; running ones must finish.',
      Rollout: 'Argo Rollouts Rollout: rolled by its own rollout.',
    },
  },
  'credentials[].consumers[].name': { description: 'Name of the workload.' },
  'credentials[].consumers[].namespace': { description: 'Namespace of the workload; a target must exist there (a Secret is readable only from its own namespace).' },
  'credentials[].consumers[].secretName': { description: "The target Secret it reads. Default: the credential's only target in the consumer's namespace." },
  'credentials[].consumers[].env': { description: 'It reads these Secret keys as environment variables (give exactly one of env, envFrom or file).' },
  'credentials[].consumers[].envFrom': { description: 'It reads every key of the Secret as environment variables (give exactly one of env, envFrom or file).' },
  'credentials[].consumers[].envFrom.prefix': { description: 'The prefix of the environment variable names, e.g. S3_.' },
  'credentials[].consumers[].file': { description: 'It reads the Secret as mounted files and re-reads them: no restart, the kubelet refreshes them after its sync period (never with subPath).' },
  'credentials[].consumers[].file.mountPath': { description: 'The absolute path the Secret is mounted at.' },
  'credentials[].consumers[].updateStrategy': {
    description: 'StatefulSet only: its update strategy.',
    default: 'RollingUpdate',
    values: {
      RollingUpdate: 'The StatefulSet controller replaces the pods.',
      OnDelete: 'The retire step replaces the stale pods itself, highest ordinal first, one at a time.',
    },
  },
  'credentials[].consumers[].component': { description: "The Kustomize Component (folder under dist/components/) that carries this consumer's patch. Default: the consumer's namespace." },
  'credentials[].rotationPolicy': { description: 'When the credential is rotated, and how long old and new key overlap.' },
  'credentials[].rotationPolicy.mode': {
    description: 'How rotations are started.',
    values: {
      Manual: 'Only by `rekey rotate <credential>`.',
      TimeBased: 'Every intervalDays: `rekey rotate --due` (from a scheduled CI job) rotates it when due.',
    },
  },
  'credentials[].rotationPolicy.overlapSeconds': { description: 'How long the old key stays valid after the new one is activated, before the retire step revokes it.' },
  'credentials[].rotationPolicy.intervalDays': { description: 'TimeBased only: days between rotations (7 or more).' },
};

type Json = Record<string, unknown>;

/**
 * A copy of a generated JSON Schema with the documentation of `docs` applied to every property
 * (and to every enum under a documented path). `missing` receives the paths that have no
 * description, and `path=value` for every enum value or variant without an explanation.
 */
export function withDocs(schema: Json, docs: Readonly<Record<string, FieldDoc>> = SPEC_DOCS, missing: string[] = []): Json {
  const visit = (node: unknown, path: string, isProperty: boolean): unknown => {
    if (Array.isArray(node)) return node.map((n) => visit(n, path, false));
    if (node === null || typeof node !== 'object') return node;
    const out: Json = {};
    for (const [k, v] of Object.entries(node as Json)) {
      if (k === 'properties') out[k] = Object.fromEntries(Object.entries(v as Json).map(([name, p]) => [name, visit(p, path ? `${path}.${name}` : name, true)]));
      else if (k === 'items') out[k] = visit(v, `${path}[]`, false);
      else if (k === 'additionalProperties' && typeof v === 'object') out[k] = visit(v, `${path}.*`, false);
      else if (['anyOf', 'oneOf', 'allOf'].includes(k)) out[k] = (v as unknown[]).map((n) => visit(n, path, false));
      else out[k] = v;
    }
    const doc = docs[path] ?? (path.endsWith('[]') ? docs[path.slice(0, -2)] : undefined);
    const values = enumValues(out);
    if (isProperty && !doc) missing.push(path);
    if (doc && (isProperty || values)) {
      let description = doc.description;
      if (values) {
        for (const v of values) if (doc.values?.[v] === undefined) missing.push(`${path}=${v}`);
        description += '\n' + values.map((v) => `- ${v}: ${doc.values?.[v] ?? ''}`).join('\n');
        out.enumDescriptions = values.map((v) => doc.values?.[v] ?? '');
      }
      if (isProperty || !out.description) out.description = description.trim();
      if (isProperty && doc.default !== undefined && !('default' in out)) out.default = doc.default;
    } else if (values && isProperty) for (const v of values) missing.push(`${path}=${v}`);
    return out;
  };
  return visit(schema, '', false) as Json;
}

/** The enum values (or the one const) a schema node allows, if it is an enum of strings. */
function enumValues(node: Json): string[] | undefined {
  if (Array.isArray(node.enum) && node.enum.every((v) => typeof v === 'string')) return node.enum as string[];
  if (typeof node.const === 'string') return [node.const];
  return undefined;
}

/** Documentation entries for paths the schema does not have (a renamed or removed field). */
export function unusedDocs(schema: Json, docs: Readonly<Record<string, FieldDoc>> = SPEC_DOCS): string[] {
  const seen = new Set<string>();
  const visit = (node: unknown, path: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n, path));
    if (node === null || typeof node !== 'object') return;
    const o = node as Json;
    seen.add(path);
    for (const [name, p] of Object.entries((o.properties as Json | undefined) ?? {})) visit(p, path ? `${path}.${name}` : name);
    if (o.items) visit(o.items, `${path}[]`);
    for (const k of ['anyOf', 'oneOf', 'allOf']) if (Array.isArray(o[k])) visit(o[k], path);
  };
  visit(schema, '');
  return Object.keys(docs).filter((k) => !seen.has(k));
}
