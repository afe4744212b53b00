import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

/** The valid fixture spec as a plain object. */
export function baseSpec(): any {
  return parse(readFileSync(join(process.cwd(), 'test/fixtures/project/rekey.yaml'), 'utf8'));
}

/** A bad-input case: a mutation of the valid spec (or raw text) and the exact error, one line per problem. */
export interface BadSpecCase {
  readonly name: string;
  readonly mutate?: (spec: any) => void;
  readonly text?: string;
  readonly message: string;
}

export function caseText(c: BadSpecCase): string {
  if (c.text !== undefined) return c.text;
  const s = baseSpec();
  c.mutate!(s);
  return stringify(s);
}

/** Bad specs and the exact error each gives, one line per problem (shared by the spec and CLI tests). */
export const BAD_SPECS: readonly BadSpecCase[] = [
  { name: "rotator unknown field", mutate: (s: any) => (s.rotator.ttl = 60), message: "rekey.yaml rotator has unknown field \"ttl\": got \"ttl\". Remove it or fix its spelling (known fields: namespace, createNamespace, image, apiServer, backoffLimit, jobGraceSeconds, deadlines)." },
  { name: "rotator backoffLimit negative", mutate: (s: any) => (s.rotator.backoffLimit = -1), message: "rekey.yaml rotator.backoffLimit must be at least 0: got -1. Set backoffLimit to 0 or more." },
  { name: "rotator jobGraceSeconds not a number", mutate: (s: any) => (s.rotator.jobGraceSeconds = '5m'), message: "rekey.yaml rotator.jobGraceSeconds must be a number: got \"5m\". Give jobGraceSeconds as a whole number of seconds." },
  { name: "rotator deadline zero", mutate: (s: any) => (s.rotator.deadlines = { activateSeconds: 0 }), message: "rekey.yaml rotator.deadlines.activateSeconds must be at least 1: got 0. Set activateSeconds to 1 or more." },
  { name: "rotator deadline unknown", mutate: (s: any) => (s.rotator.deadlines = { rotateSeconds: 10 }), message: "rekey.yaml rotator.deadlines has unknown field \"rotateSeconds\": got \"rotateSeconds\". Remove it or fix its spelling (known fields: activateSeconds, deliverSeconds, retireSeconds, verifySeconds, kubeletRefreshSeconds)." },
  { name: "rotator image without tag", mutate: (s: any) => (s.rotator.image = 'rekey-rotator'), message: "rekey.yaml rotator.image must be an image reference with a tag or digest: got \"rekey-rotator\". Give e.g. registry.example.com/rekey-rotator:0.1.0 (built from the project Dockerfile)." },
  { name: "rotator apiServer cidr", mutate: (s: any) => (s.rotator.apiServer = { cidr: 'kubernetes.default' }), message: "rekey.yaml rotator.apiServer.cidr must be an IP range in CIDR notation: got \"kubernetes.default\". Give the API server endpoint address, e.g. 10.0.0.10/32 (kubectl get endpoints kubernetes -n default)." },
  { name: "rotator apiServer port", mutate: (s: any) => (s.rotator.apiServer = { cidr: '10.0.0.1/32', port: 70000 }), message: "rekey.yaml rotator.apiServer.port must be between 1 and 65535: got 70000. Give the API server endpoint port, usually 6443." },
  { name: "rotator namespace", mutate: (s: any) => (s.rotator.namespace = 'Rekey'), message: "rekey.yaml rotator.namespace must be a lowercase DNS label: got \"Rekey\". Use lowercase letters, digits and '-', starting and ending with a letter or digit." },
  { name: "rotator createNamespace", mutate: (s: any) => (s.rotator.createNamespace = 'no'), message: "rekey.yaml rotator.createNamespace must be true or false: got \"no\". Set createNamespace: true, or false when the namespace exists." },
  { name: "gitops tool", mutate: (s: any) => (s.gitops = { tool: 'jenkins' }), message: "rekey.yaml gitops.tool must be one of argocd, flux, plain: got \"jenkins\". Set gitops.tool to one of argocd, flux, plain." },
  { name: "gitops flux options under argocd", mutate: (s: any) => (s.gitops = { tool: 'argocd', flux: { interval: '5m' } }), message: "rekey.yaml gitops.flux only applies to tool flux: got {\"interval\":\"5m\"}. Remove gitops.flux, or set gitops.tool: flux." },
  { name: "gitops application under flux", mutate: (s: any) => (s.gitops = { tool: 'flux', application: { repoURL: 'https://example.com/r.git' } }), message: "rekey.yaml gitops.application only applies to tool argocd: got {\"repoURL\":\"https://example.com/r.git\"}. Remove gitops.application, or set gitops.tool: argocd." },
  { name: "gitops application repoURL", mutate: (s: any) => (s.gitops = { tool: 'argocd', application: { repoURL: 'example' } }), message: "rekey.yaml gitops.application.repoURL must be a git URL: got \"example\". Give e.g. https://github.com/example/platform.git." },
  { name: "gitops flux interval", mutate: (s: any) => (s.gitops = { tool: 'flux', flux: { interval: 'often' } }), message: "rekey.yaml gitops.flux.interval must be a Go duration: got \"often\". Give e.g. 10m or 1h30m." },
  { name: "provider networkPolicy allowFrom", mutate: (s: any) => (s.providers[0].networkPolicy = { allowFrom: ['Monitoring'] }), message: "rekey.yaml providers[0].networkPolicy.allowFrom[0] must be a lowercase DNS label: got \"Monitoring\". Use lowercase letters, digits and '-', starting and ending with a letter or digit." },
  { name: "provider networkPolicy enabled", mutate: (s: any) => (s.providers[0].networkPolicy = { enabled: 'yes' }), message: "rekey.yaml providers[0].networkPolicy.enabled must be true or false: got \"yes\". Set enabled: true (recommended) or false." },
  { name: "unknown top-level field", mutate: (s: any) => (s.extra = 1), message: "rekey.yaml (top level) has unknown field \"extra\": got \"extra\". Remove it or fix its spelling (known fields: apiVersion, kind, sealing, rotator, gitops, providers, credentials)." },
  { name: "unknown credential field", mutate: (s: any) => (s.credentials[0].rotation = {}), message: "rekey.yaml credentials[0] has unknown field \"rotation\": got \"rotation\". Remove it or fix its spelling (known fields: name, provider, identity, policy, aliases, extraKeys, delivery, targets, consumers, rotationPolicy)." },
  { name: "wrong apiVersion", mutate: (s: any) => (s.apiVersion = 'rekey.dev/v1'), message: "rekey.yaml apiVersion must be rekey.dev/v1alpha1: got \"rekey.dev/v1\". Set apiVersion: rekey.dev/v1alpha1." },
  { name: "wrong kind", mutate: (s: any) => (s.kind = 'Config'), message: "rekey.yaml kind must be RekeyConfig: got \"Config\". Set kind: RekeyConfig." },
  { name: "intervalDays < 7", mutate: (s: any) => (s.credentials[0].rotationPolicy.intervalDays = 3), message: "rekey.yaml credentials[0].rotationPolicy.intervalDays must be at least 7: got 3. Set intervalDays: 7 or more, or use mode: Manual." },
  { name: "intervalDays not a number", mutate: (s: any) => (s.credentials[0].rotationPolicy.intervalDays = 'weekly'), message: "rekey.yaml credentials[0].rotationPolicy.intervalDays must be a number: got \"weekly\". Set intervalDays: 7 or more, or use mode: Manual." },
  { name: "overlapSeconds negative", mutate: (s: any) => (s.credentials[0].rotationPolicy.overlapSeconds = -1), message: "rekey.yaml credentials[0].rotationPolicy.overlapSeconds must be at least 0: got -1. Set overlapSeconds: 0 or more." },
  { name: "TimeBased without intervalDays", mutate: (s: any) => delete s.credentials[0].rotationPolicy.intervalDays, message: "rekey.yaml credentials[0].rotationPolicy.intervalDays is required: got nothing. Add intervalDays (`rekey schema` prints every field)." },
  { name: "unknown rotation mode", mutate: (s: any) => (s.credentials[0].rotationPolicy.mode = 'Daily'), message: "rekey.yaml credentials[0].rotationPolicy.mode must be Manual or TimeBased: got \"Daily\". Set rotationPolicy.mode: Manual, or TimeBased with intervalDays." },
  { name: "duplicate credential", mutate: (s: any) => (s.credentials[1].name = 'uploads'), message: "rekey.yaml credentials[1].name is a duplicate credential name: got \"uploads\". Give every credential a unique name." },
  { name: "credential name not DNS", mutate: (s: any) => (s.credentials[0].name = 'Uploads_1'), message: "rekey.yaml credentials[0].name must be a lowercase DNS label: got \"Uploads_1\". Use lowercase letters, digits and '-', starting and ending with a letter or digit." },
  { name: "credential name too long", mutate: (s: any) => (s.credentials[0].name = 'a'.repeat(41)), message: "rekey.yaml credentials[0].name must be at most 40 characters: got \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\". Shorten the credential name: rekey derives object names from it." },
  { name: "unknown provider ref", mutate: (s: any) => (s.credentials[0].provider = 'minio'), message: "rekey.yaml credentials[0].provider names no provider: got \"minio\". Use one of: rustfs." },
  { name: "unknown provider kind", mutate: (s: any) => (s.providers[0].kind = 's3'), message: "rekey.yaml providers[0].kind must be one of rustfs, minio, ceph-rgw, aws-iam, external: got \"s3\". Set kind to one of rustfs, minio, ceph-rgw, aws-iam, external." },
  { name: "duplicate provider", mutate: (s: any) => s.providers.push({ ...s.providers[0] }), message: "rekey.yaml providers[1].name is a duplicate provider name: got \"rustfs\". Give every provider a unique name." },
  { name: "provider without endpoint", mutate: (s: any) => delete s.providers[0].endpoint, message: "rekey.yaml providers[0].endpoint is required for kind rustfs: got nothing. Give the endpoint URL." },
  { name: "provider endpoint not url", mutate: (s: any) => (s.providers[0].endpoint = 'rustfs:9000'), message: "rekey.yaml providers[0].endpoint must be an http(s) URL: got \"rustfs:9000\". Give the S3/admin endpoint, e.g. http://rustfs.storage.svc:9000." },
  { name: "consumer missing target ns", mutate: (s: any) => (s.credentials[0].consumers[0].namespace = 'api'), message: "rekey.yaml credentials[0].consumers[0].namespace has no target of credential uploads: got \"api\". Add a target in namespace api: a Secret is only readable from its own namespace." },
  { name: "consumer secretName missing", mutate: (s: any) => (s.credentials[0].consumers[0].secretName = 'other'), message: "rekey.yaml credentials[0].consumers[0].secretName names no target of credential uploads in namespace web: got \"other\". Add a target {namespace: web, secretName: other}, or fix the name." },
  { name: "consumer two modes", mutate: (s: any) => (s.credentials[0].consumers[0].env = ['access-key']), message: "rekey.yaml credentials[0].consumers[0] must read the Secret in exactly one way: got {\"kind\":\"Deployment\",\"name\":\"web\",\"namespace\":\"web\",\"envFrom\":{\"prefix\":\"S3_\".... Give exactly one of env, envFrom or file." },
  { name: "consumer no mode", mutate: (s: any) => delete s.credentials[0].consumers[0].envFrom, message: "rekey.yaml credentials[0].consumers[0] must read the Secret in exactly one way: got {\"kind\":\"Deployment\",\"name\":\"web\",\"namespace\":\"web\"}. Give exactly one of env, envFrom or file." },
  { name: "consumer env unknown key", mutate: (s: any) => (s.credentials[0].consumers[1].env = ['AWS_ACCESS_KEY_ID']), message: "rekey.yaml credentials[0].consumers[1].env[0] names a key the Secret does not have: got \"AWS_ACCESS_KEY_ID\". Use one of access-key, secret-key, RUSTFS_ACCESS_KEY, RUSTFS_SECRET_KEY, endpoint." },
  { name: "consumer kind", mutate: (s: any) => (s.credentials[0].consumers[0].kind = 'Pod'), message: "rekey.yaml credentials[0].consumers[0].kind must be one of Deployment, StatefulSet, DaemonSet, Job, CronJob, Rollout: got \"Pod\". Set kind to one of Deployment, StatefulSet, DaemonSet, Job, CronJob, Rollout." },
  { name: "updateStrategy on Deployment", mutate: (s: any) => (s.credentials[0].consumers[0].updateStrategy = 'OnDelete'), message: "rekey.yaml credentials[0].consumers[0].updateStrategy only applies to StatefulSets: got \"OnDelete\". Remove updateStrategy." },
  { name: "alias clash custom", mutate: (s: any) => s.credentials[0].aliases.push({ accessKey: 'access-key', secretKey: 'x' }), message: "rekey.yaml credentials[0].aliases[2] key \"access-key\" clashes with alias set generic: got {\"accessKey\":\"access-key\",\"secretKey\":\"x\"}. Give every alias and extra key a distinct Secret key name." },
  { name: "alias clash extra", mutate: (s: any) => (s.credentials[0].extraKeys['RUSTFS_ACCESS_KEY'] = 'x'), message: "rekey.yaml credentials[0].extraKeys.RUSTFS_ACCESS_KEY key \"RUSTFS_ACCESS_KEY\" clashes with alias set rustfs: got \"x\". Give every alias and extra key a distinct Secret key name." },
  { name: "alias unknown preset", mutate: (s: any) => (s.credentials[0].aliases[0] = 'azure'), message: "rekey.yaml credentials[0].aliases[0] must be a preset or a custom pair: got \"azure\". Use one of generic, minio-root, minio-env, rustfs, aws, aws-credentials-file, or {accessKey: <key>, secretKey: <key>}." },
  { name: "no aliases", mutate: (s: any) => (s.credentials[0].aliases = []), message: "rekey.yaml credentials[0].aliases must list at least one alias set: got []. Add e.g. aliases: [generic]." },
  { name: "no targets", mutate: (s: any) => (s.credentials[0].targets = []), message: "rekey.yaml credentials[0].targets must list at least one target: got []. Add {namespace, secretName}." },
  { name: "duplicate target", mutate: (s: any) => s.credentials[0].targets.push({ namespace: 'web', secretName: 'uploads-s3' }), message: "rekey.yaml credentials[0].targets[2] is a duplicate target web/uploads-s3: got {\"namespace\":\"web\",\"secretName\":\"uploads-s3\"}. List every namespace/secretName once." },
  { name: "bad secret key name", mutate: (s: any) => (s.credentials[0].extraKeys = { 'end point': 'x' }), message: "rekey.yaml credentials[0].extraKeys[\"end point\"] is not a valid Secret key name: got \"end point\". Use letters, digits, '-', '_' and '.'." },
  { name: "plain without ack", mutate: (s: any) => (s.credentials[0].delivery = { kind: 'plain' }), message: "rekey.yaml credentials[0].delivery.acknowledgeInsecure must be true for plain delivery (the secret is stored in git in clear): got nothing. Set acknowledgeInsecure: true for a local cluster, or use kind: sealed." },
  { name: "sealed without sealing", mutate: (s: any) => delete s.sealing, message: "rekey.yaml sealing is required: credential uploads uses sealed delivery: got nothing. Add sealing: {certificate: <kubeseal --fetch-cert file>, fingerprint: SHA256:...}." },
  { name: "bad fingerprint", mutate: (s: any) => (s.sealing.fingerprint = 'abc'), message: "rekey.yaml sealing.fingerprint must be a SHA-256 fingerprint like SHA256:<43 base64 characters>: got \"abc\". Copy the fingerprint rekey or kubeseal prints for the certificate." },
  { name: "previous fingerprint malformed", mutate: (s: any) => (s.sealing.previousFingerprints = ['abc']), message: "rekey.yaml sealing.previousFingerprints[0] must be a SHA-256 fingerprint like SHA256:<43 base64 characters>: got \"abc\". Copy the fingerprint the ledger recorded (certificateFingerprint) for the earlier certificate." },
  { name: "previous fingerprint is the current one", mutate: (s: any) => (s.sealing.previousFingerprints = [s.sealing.fingerprint]), message: "rekey.yaml sealing.previousFingerprints[0] is the current sealing fingerprint: got \"SHA256:sYSaGDLpv8JDiLtVx95zThKCTMP4rqDSd/WLpy+en4g\". Remove it from previousFingerprints: values sealed with the current certificate are always valid." },
  { name: "bad scope", mutate: (s: any) => (s.credentials[1].delivery.scope = 'global'), message: "rekey.yaml credentials[1].delivery.scope must be one of strict, namespace-wide, cluster-wide: got \"global\". Set scope to one of strict, namespace-wide, cluster-wide." },
  { name: "root on minio", mutate: (s: any) => { s.providers[0].kind = 'minio'; s.credentials[0].identity.kind = 'root'; }, message: "rekey.yaml credentials[0].identity.kind root rotation is refused for minio: got \"root\". MinIO fixes its root user at first start; rotate a serviceAccount or user instead." },
  { name: "serviceAccount on rgw", mutate: (s: any) => { s.providers[0].kind = 'ceph-rgw'; }, message: "rekey.yaml credentials[0].identity.kind serviceAccount is not an identity kind of ceph-rgw: got \"serviceAccount\". Use kind user (several keys on one user) or alternatingUsers.\nrekey.yaml credentials[1].identity.kind serviceAccount is not an identity kind of ceph-rgw: got \"serviceAccount\". Use kind user (several keys on one user) or alternatingUsers." },
  { name: "aws-iam credential", mutate: (s: any) => { s.providers.push({ name: 'aws', kind: 'aws-iam' }); s.credentials[0].provider = 'aws'; s.credentials[0].identity.kind = 'user'; }, message: "rekey.yaml credentials[0].provider aws-iam keys are drawn by IAM inside the cluster and cannot be sealed into git: got \"aws\". Use a rustfs, minio or ceph-rgw provider; external delivery for aws-iam is not available in this release." },
  { name: "users without alternating", mutate: (s: any) => (s.credentials[0].identity.users = ['a', 'b']), message: "rekey.yaml credentials[0].identity.users only applies to kind alternatingUsers: got [\"a\",\"b\"]. Remove users, or set kind: alternatingUsers." },
  { name: "wrong type targets", mutate: (s: any) => (s.credentials[0].targets = 'web/uploads'), message: "rekey.yaml credentials[0].targets must be a list: got \"web/uploads\". Give targets as a list (`rekey schema` prints every field)." },
  { name: "missing identity", mutate: (s: any) => delete s.credentials[0].identity, message: "rekey.yaml credentials[0].identity is required: got nothing. Add identity (`rekey schema` prints every field)." },
  { name: "delivery unknown kind", mutate: (s: any) => (s.credentials[0].delivery = { kind: 'vault' }), message: "rekey.yaml credentials[0].delivery.kind must be sealed or plain: got \"vault\". Set delivery.kind: sealed (or plain for a local cluster)." },
  // several problems: every one on its own line, up to a cap
  { name: "typo intervallDays (one line: the rename, not also 'intervalDays is required')", mutate: (s: any) => { s.credentials[0].rotationPolicy.intervallDays = 30; delete s.credentials[0].rotationPolicy.intervalDays; }, message: "rekey.yaml credentials[0].rotationPolicy has unknown field \"intervallDays\": got \"intervallDays\". Rename it to intervalDays (known fields: mode, intervalDays, overlapSeconds)." },
  { name: "typo in letter case", mutate: (s: any) => { s.credentials[1].Consumers = s.credentials[1].consumers; delete s.credentials[1].consumers; }, message: "rekey.yaml credentials[1] has unknown field \"Consumers\": got \"Consumers\". Rename it to consumers (known fields: name, provider, identity, policy, aliases, extraKeys, delivery, targets, consumers, rotationPolicy)." },
  { name: "several shape problems", mutate: (s: any) => { s.providers[0].kind = 's3'; s.credentials[0].consumers[0].kind = 'Pod'; s.credentials[1].delivery.scope = 'global'; }, message: [
    "rekey.yaml providers[0].kind must be one of rustfs, minio, ceph-rgw, aws-iam, external: got \"s3\". Set kind to one of rustfs, minio, ceph-rgw, aws-iam, external.",
    "rekey.yaml credentials[0].consumers[0].kind must be one of Deployment, StatefulSet, DaemonSet, Job, CronJob, Rollout: got \"Pod\". Set kind to one of Deployment, StatefulSet, DaemonSet, Job, CronJob, Rollout.",
    "rekey.yaml credentials[1].delivery.scope must be one of strict, namespace-wide, cluster-wide: got \"global\". Set scope to one of strict, namespace-wide, cluster-wide.",
  ].join('\n') },
  { name: "several cross-field problems (gitops, two credentials, two consumers)", mutate: (s: any) => { s.gitops = { tool: 'flux', application: { repoURL: 'https://example.com/r.git' } }; s.credentials[0].provider = 'minio'; s.credentials[1].consumers[0].namespace = 'api'; s.credentials[1].consumers[1].secretName = 'other'; }, message: [
    "rekey.yaml gitops.application only applies to tool argocd: got {\"repoURL\":\"https://example.com/r.git\"}. Remove gitops.application, or set gitops.tool: argocd.",
    "rekey.yaml credentials[0].provider names no provider: got \"minio\". Use one of: rustfs.",
    "rekey.yaml credentials[1].consumers[0].namespace has no target of credential reports: got \"api\". Add a target in namespace api: a Secret is only readable from its own namespace.",
    "rekey.yaml credentials[1].consumers[1].secretName names no target of credential reports in namespace reports: got \"other\". Add a target {namespace: reports, secretName: other}, or fix the name.",
  ].join('\n') },
  { name: "a chart-wide problem once, not per credential", mutate: (s: any) => { delete s.sealing; s.credentials[1].aliases = ['azure']; }, message: "rekey.yaml credentials[1].aliases[0] must be a preset or a custom pair: got \"azure\". Use one of generic, minio-root, minio-env, rustfs, aws, aws-credentials-file, or {accessKey: <key>, secretKey: <key>}." },
  { name: "sealing required once for two sealed credentials", mutate: (s: any) => { delete s.sealing; s.credentials[1].name = 'Reports'.toLowerCase(); }, message: "rekey.yaml sealing is required: credential uploads uses sealed delivery: got nothing. Add sealing: {certificate: <kubeseal --fetch-cert file>, fingerprint: SHA256:...}." },
  { name: "more problems than the cap", mutate: (s: any) => { for (let i = 1; i <= 13; i++) s[`extra${i}`] = i; }, message: [
    ...Array.from({ length: 10 }, (_, i) => `rekey.yaml (top level) has unknown field "extra${i + 1}": got "extra${i + 1}". Remove it or fix its spelling (known fields: apiVersion, kind, sealing, rotator, gitops, providers, credentials).`),
    '… and 3 more problems in rekey.yaml: got 13 in all. Fix the ones above and run again to see the rest.',
  ].join('\n') },
  { name: "text a: [", text: "a: [", message: "rekey.yaml line 1 is not valid YAML: got BAD_INDENT (Flow sequence in block collection must be sufficiently indented and end with a ]). Fix the YAML syntax there." },
  { name: "text - 1", text: "- 1", message: "rekey.yaml must be a mapping: got [1]. Start from `rekey init`." },
  { name: "text apiVersion: x\napiVersion: y", text: "apiVersion: x\napiVersion: y", message: "rekey.yaml line 2 is not valid YAML: got DUPLICATE_KEY (Map keys must be unique). Fix the YAML syntax there." },
];
