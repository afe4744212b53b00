import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_DEADLINES,
  DEFAULT_KUBELET_REFRESH_SECONDS,
  DEFAULT_LEASE,
  PLAN_MOUNT_PATH,
  parsePlan,
  parsePlanText,
  renderPlan,
  type RotationPlan,
} from '../../lib/core/plan.js';
import { ValidationError } from '../../lib/core/errors.js';
import { validPlan } from '../rotator/fixtures.js';

const WHERE = PLAN_MOUNT_PATH;

/** The one-line message parsePlan throws for a plan changed by `edit`. */
function errorOf(edit: (p: any) => void): string {
  const plan = validPlan();
  edit(plan);
  try {
    parsePlan(plan, WHERE);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).code).toBe('PLAN_INVALID');
    expect((e as ValidationError).exitCode).toBe(1);
    return (e as Error).message;
  }
  throw new Error('the plan was accepted');
}

describe('parsePlan', () => {
  it('accepts a full valid plan and returns it unchanged', () => {
    // GIVEN every field set  WHEN parsed  THEN nothing is added or dropped
    const plan: RotationPlan = parsePlan(validPlan(), WHERE);
    expect(plan).toEqual(validPlan());
  });

  it('applies the documented defaults to a minimal plan', () => {
    const p: any = validPlan();
    delete p.attempt;
    delete p.deadlines;
    delete p.consumers;
    delete p.previousAccessKeyId;
    delete p.policy;
    delete p.lease;
    for (const t of p.targets) delete t.keys;
    p.provider = { name: 'rustfs', kind: 'rustfs', endpoint: 'http://rustfs.storage.svc:9000', adminSecret: { name: 'rustfs-admin' } };
    p.identity = { kind: 'user', name: 'uploads' };
    p.keySource = { kind: 'rekeyDrawn' };
    const plan = parsePlan(p, WHERE);
    expect(plan.attempt).toBe(1);
    expect(plan.deadlines).toEqual(DEFAULT_DEADLINES);
    expect(plan.deadlines.kubeletRefreshSeconds).toBe(DEFAULT_KUBELET_REFRESH_SECONDS);
    expect(DEFAULT_DEADLINES).toEqual({ activateSeconds: 600, deliverSeconds: 900, retireSeconds: 3600, verifySeconds: 120, kubeletRefreshSeconds: 90 });
    expect(plan.provider).toEqual({
      name: 'rustfs',
      kind: 'rustfs',
      endpoint: 'http://rustfs.storage.svc:9000',
      region: 'us-east-1',
      adminSecret: { name: 'rustfs-admin', accessKeyKey: 'access-key', secretKeyKey: 'secret-key', mountPath: '/etc/rekey/admin' },
      caBundle: null,
    });
    expect(plan.identity).toEqual({ kind: 'user', name: 'uploads', users: null });
    expect(plan.keySource).toEqual({ kind: 'rekeyDrawn', mountPath: '/etc/rekey/staging' });
    expect([plan.policy, plan.previousAccessKeyId, plan.consumers]).toEqual([null, null, []]);
    // no keys listed: the rotator falls back to the preset alias names
    expect(plan.targets.map((t) => t.keys)).toEqual([[], []]);
    expect(plan.lease).toEqual(DEFAULT_LEASE);
    expect(DEFAULT_LEASE).toEqual({ durationSeconds: 60, renewSeconds: 15, acquireSeconds: null });
  });

  it('keeps the target keys and the Lease timing as given', () => {
    const p: any = validPlan();
    p.lease = { durationSeconds: 30, renewSeconds: 5, acquireSeconds: 0 };
    const plan = parsePlan(p, WHERE);
    expect(plan.lease).toEqual({ durationSeconds: 30, renewSeconds: 5, acquireSeconds: 0 });
    expect(plan.targets[0]!.keys.map((k) => `${k.name}:${k.holds}`)).toEqual(['access-key:accessKeyId', 'secret-key:secretAccessKey', 'endpoint:extra']);
  });

  it('accepts a provider-drawn IAM plan with alternating users and no endpoint', () => {
    const p: any = validPlan();
    p.provider = { name: 'aws', kind: 'aws-iam', endpoint: null, region: 'eu-west-1', adminSecret: { name: 'iam-admin' }, caBundle: null };
    p.identity = { kind: 'alternatingUsers', name: 'uploads', users: ['uploads-a', 'uploads-b'] };
    p.keySource = { kind: 'providerDrawn' };
    p.accessKeyId = null;
    p.targets = p.targets.map((t: any) => ({ ...t, delivery: 'external' }));
    expect(parsePlan(p, WHERE).identity.users).toEqual(['uploads-a', 'uploads-b']);
  });

  it('accepts an external provider with no admin Secret', () => {
    const p: any = validPlan();
    p.provider = { name: 'vendor', kind: 'external', endpoint: null, adminSecret: null, caBundle: null };
    p.keySource = { kind: 'ownerSupplied' };
    expect(parsePlan(p, WHERE).provider.adminSecret).toBeNull();
  });

  it.each<[string, (p: any) => void, string]>([
    ['a wrong apiVersion', (p) => (p.apiVersion = 'rekey.dev/v2'),
      'apiVersion must be rekey.dev/v1alpha1: got "rekey.dev/v2". Render the plan with a rekey release that writes rekey.dev/v1alpha1, or upgrade the rotator.'],
    ['a missing generation', (p) => delete p.generation, 'generation is required: got nothing. Add generation.'],
    ['generation 0', (p) => (p.generation = 0), 'generation must be at least 1: got 0. Set generation to 1 or more.'],
    ['generation as a string', (p) => (p.generation = '3'), 'generation must be a number: got "3". Give generation as a whole number.'],
    ['attempt 1.5', (p) => (p.attempt = 1.5), 'attempt must be a whole number: got 1.5. Give attempt as a whole number.'],
    ['an unknown provider kind', (p) => (p.provider.kind = 's3'),
      'provider.kind must be one of rustfs, minio, ceph-rgw, aws-iam, external: got "s3". Set provider.kind to one of rustfs, minio, ceph-rgw, aws-iam, external.'],
    ['a secret inside the admin Secret reference', (p) => (p.provider.adminSecret.secretAccessKey = 'FAKE-not-a-real-secret'),
      'provider.adminSecret has unknown field "secretAccessKey": got "secretAccessKey". Remove it: a plan carries identifiers only, never a secret.'],
    ['a misspelt field', (p) => (p.overlapSecond = 5),
      '(top level) has unknown field "overlapSecond": got "overlapSecond". Remove it or fix its spelling (see lib/core/plan.ts).'],
    ['a rustfs provider without admin Secret', (p) => (p.provider.adminSecret = null),
      'provider.adminSecret is required for kind rustfs: got null. Name the Secret holding the admin key pair.'],
    ['an external provider with an admin Secret', (p) => { p.provider.kind = 'external'; p.provider.adminSecret = { name: 'x' }; },
      'provider.adminSecret must be null for kind external: got {"name":"x"}. Remove it: rekey never calls an external provider, so no admin key is mounted.'],
    ['root identity on minio', (p) => { p.provider.kind = 'minio'; p.identity.kind = 'root'; },
      'identity.kind root is refused for minio: got "root". MinIO fixes its root user at first start; rotate a serviceAccount or user instead.'],
    ['alternatingUsers without users', (p) => (p.identity.kind = 'alternatingUsers'),
      'identity.users is required for kind alternatingUsers: got null. Give users: [<user-a>, <user-b>].'],
    ['a rekey-drawn plan without the new key ID', (p) => (p.accessKeyId = null),
      'accessKeyId is required for keySource rekeyDrawn: got null. Give the new access-key ID from the ledger (run `rekey rotate`).'],
    ['a provider-drawn plan with a key ID', (p) => (p.keySource = { kind: 'providerDrawn' }),
      'accessKeyId must be null for keySource providerDrawn: got "FAKEKEYIDGENERATION3". Remove it: the activate Job learns the key ID in the cluster.'],
    ['a key ID with a space', (p) => (p.accessKeyId = 'has space'),
      "accessKeyId is not an access-key ID: got \"has space\". Use 3 to 128 letters, digits, '.', '_' or '-' (an access-key ID, never a secret)."],
    ['the same key before and after', (p) => (p.previousAccessKeyId = p.accessKeyId),
      'previousAccessKeyId must differ from accessKeyId: got "FAKEKEYIDGENERATION3". A rotation retires another key than it activates; check the ledger entry.'],
    ['another record name', (p) => (p.recordConfigMap = 'uploads-status'),
      'recordConfigMap must be rekey-uploads-status: got "uploads-status". Set recordConfigMap: rekey-uploads-status (the rotation record\'s fixed name).'],
    ['an unknown key source', (p) => (p.keySource = { kind: 'vault' }),
      'keySource.kind must be one of rekeyDrawn, ownerSupplied, providerDrawn: got "vault". Set keySource.kind to one of rekeyDrawn, ownerSupplied, providerDrawn.'],
    ['targets not a list', (p) => (p.targets = 'ingest/uploads-s3'),
      'targets must be a list: got "ingest/uploads-s3". Give targets as a list of {namespace, secretName, delivery}.'],
    ['an unknown delivery', (p) => (p.targets[1].delivery = 'vault'),
      'targets[1].delivery must be one of sealed, external, csi, plain: got "vault". Set delivery to one of sealed, external, csi, plain.'],
    ['a duplicate target', (p) => p.targets.push({ ...p.targets[0], keys: [] }), 'targets[2] is a duplicate target: got {"namespace":"ingest","secretName":"uploads-s3","delivery":"sealed","csi":nul.... List each namespace/secretName once.'],
    ['a csi target without csi settings', (p) => (p.targets[1].delivery = 'csi'),
      'targets[1].csi is required for delivery csi: got null. Give {secretProviderClass, rotationPollIntervalSeconds, secretRotationEnabled} (render the plan with rekey synth).'],
    ['csi settings on a sealed target', (p) => (p.targets[0].csi = { secretProviderClass: 'uploads-s3' }),
      'targets[0].csi must be null for delivery sealed: got {"secretProviderClass":"uploads-s3"}. Remove csi: it only applies to delivery csi.'],
    ['a zero CSI poll interval', (p) => { p.targets[0].delivery = 'csi'; p.targets[0].csi = { secretProviderClass: 'uploads-s3', rotationPollIntervalSeconds: 0 }; },
      'targets[0].csi.rotationPollIntervalSeconds must be at least 1: got 0. Set rotationPollIntervalSeconds to 1 or more.'],
    ['a checksum on a file consumer of a csi target with rotation on', (p) => { p.targets[1].delivery = 'csi'; p.targets[1].csi = { secretProviderClass: 'uploads-s3' }; p.consumers[2].checksum = 'abc123'; },
      'consumers[2].checksum must be null for mode file: got "abc123". File consumers re-read the mounted Secret and get no checksum.'],
    ['a consumer apiVersion that does not match its kind', (p) => (p.consumers[0].apiVersion = 'extensions/v1beta1'),
      'consumers[0].apiVersion must be apps/v1 for kind Deployment: got "extensions/v1beta1". Set apiVersion: apps/v1.'],
    ['a consumer of a Secret that is not a target', (p) => (p.consumers[0].secretName = 'other'),
      'consumers[0].secretName is not a target in namespace ingest: got "other". Name one of the plan targets in the same namespace.'],
    ['an unknown consumer mode', (p) => (p.consumers[1].mode = 'volume'),
      'consumers[1].mode must be one of env, envFrom, file: got "volume". Set mode to one of env, envFrom, file.'],
    ['an updateStrategy on a Deployment', (p) => (p.consumers[0].updateStrategy = 'OnDelete'),
      'consumers[0].updateStrategy must be null for kind Deployment: got "OnDelete". Only StatefulSets and DaemonSets have an update strategy.'],
    ['a checksum on a file consumer', (p) => (p.consumers[2].checksum = 'abc123'),
      'consumers[2].checksum must be null for mode file: got "abc123". File consumers re-read the mounted Secret and get no checksum.'],
    ['a negative deadline', (p) => (p.deadlines.retireSeconds = -5), 'deadlines.retireSeconds must be at least 1: got -5. Set retireSeconds to 1 or more.'],
    ['a negative overlap', (p) => (p.overlapSeconds = -1), 'overlapSeconds must be at least 0: got -1. Set overlapSeconds to 0 or more.'],
    ['a target key with an unknown role', (p) => (p.targets[0].keys[2].holds = 'region'),
      'targets[0].keys[2].holds must be one of accessKeyId, secretAccessKey, credentialsFile, extra: got "region". Set holds to one of accessKeyId, secretAccessKey, credentialsFile, extra.'],
    ['a target key listed twice', (p) => p.targets[0].keys.push({ name: 'endpoint', holds: 'extra' }),
      'targets[0].keys[3].name is a duplicate key: got "endpoint". List each key of the Secret once.'],
    ['target keys without the access-key ID', (p) => (p.targets[0].keys = [{ name: 'endpoint', holds: 'extra' }]),
      'targets[0].keys has no key holding the access-key ID: got [{"name":"endpoint","holds":"extra"}]. List the alias keys (holds: accessKeyId and secretAccessKey, or credentialsFile), or no keys at all.'],
    ['a target key name with a slash', (p) => (p.targets[0].keys[0].name = 'a/b'),
      "targets[0].keys[0].name is not a valid Secret key name: got \"a/b\". Use letters, digits, '-', '_' and '.'."],
    ['a Lease renewed no faster than it expires', (p) => (p.lease.renewSeconds = 60),
      'lease.renewSeconds must be less than lease.durationSeconds (60): got 60. Renew well within the duration, e.g. a quarter of it.'],
    ['a Lease duration of 0', (p) => (p.lease = { durationSeconds: 0 }), 'lease.durationSeconds must be at least 1: got 0. Set durationSeconds to 1 or more.'],
    ['a negative Lease wait', (p) => (p.lease.acquireSeconds = -1), 'lease.acquireSeconds must be at least 0: got -1. Set acquireSeconds to 0 or more.'],
  ])('rejects %s with one line naming the field', (_name, edit, message) => {
    expect(errorOf(edit)).toBe(`${WHERE} ${message}`);
  });

  it('accepts csi settings with defaults, and a checksum on a file consumer of a csi target whose driver never refreshes mounts', () => {
    const p: any = validPlan();
    p.targets[1] = { namespace: 'analytics', secretName: 'uploads-s3', delivery: 'csi', csi: { secretProviderClass: 'uploads-s3' } };
    expect(parsePlan(p, WHERE).targets[1]!.csi).toEqual({ secretProviderClass: 'uploads-s3', rotationPollIntervalSeconds: 120, secretRotationEnabled: true });
    p.targets[1].csi.secretRotationEnabled = false;
    p.consumers[2].checksum = 'abc123';
    expect(parsePlan(p, WHERE).consumers[2]!.checksum).toBe('abc123');
  });

  it('counts further problems after the first', () => {
    expect(errorOf((p) => (p.provider.endpoint = 'ftp://rustfs'))).toBe(
      `${WHERE} provider.endpoint must be an http(s) URL: got "ftp://rustfs". Give the admin/S3 endpoint, e.g. http://rustfs.storage.svc:9000. (1 more problem after this one)`,
    );
  });

  it('rejects what is not a JSON object, and JSON syntax errors', () => {
    expect(() => parsePlan([], WHERE)).toThrow(`${WHERE} must be a JSON object: got []. Point the rotator at the plan ConfigMap's plan.json.`);
    expect(() => parsePlanText('{"apiVersion":', WHERE)).toThrow(/^\/etc\/rekey\/plan\/plan\.json is not valid JSON: got ".*"\. Render the plan again with rekey synth\.$/);
  });
});

describe('renderPlan', () => {
  it('writes canonical JSON that parses back to the same plan', () => {
    const text = renderPlan(validPlan(), 'Credential uploads');
    expect(text.endsWith('}\n')).toBe(true);
    expect(parsePlanText(text, WHERE)).toEqual(parsePlan(validPlan(), WHERE));
    const shuffled = Object.fromEntries(Object.entries(validPlan()).reverse());
    expect(renderPlan(shuffled as any, 'Credential uploads')).toBe(text);
  });
});
