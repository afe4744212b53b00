/** The provider side of a step: the mounted admin and staging pairs, the client, the S3 verification connection. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STAGING_KEYS } from '../core/plan.js';
import { SecretValue } from '../core/secret-value.js';
import { AwsIamClient } from '../providers/aws-iam/client.js';
import { RgwAdminClient } from '../providers/ceph-rgw/client.js';
import { MinioAdminClient } from '../providers/minio/client.js';
import type { IdentitySpec, KeyPair, ProviderClient, ProviderConnection } from '../providers/provider.js';
import type { VerifyConnection, VerifyOptions } from '../providers/s3/verify.js';
import type { StepContext } from './context.js';
import { rotationError } from './errors.js';
import { realSleep } from './clock.js';

const readMounted = (ctx: StepContext) => ctx.readMounted ?? ((p: string) => readFile(p));

async function readTrimmed(ctx: StepContext, path: string, what: string, fix: string): Promise<Buffer> {
  try {
    const b = await readMounted(ctx)(path);
    // a trailing newline from a hand-made Secret is not part of the value
    let end = b.length;
    while (end > 0 && (b[end - 1] === 0x0a || b[end - 1] === 0x0d)) end--;
    return b.subarray(0, end);
  } catch (e) {
    throw rotationError(ctx, 'STEP_FAILED', `${what} ${path} cannot be read: got ${(e as NodeJS.ErrnoException).code ?? 'an error'}. ${fix}`, { cause: e });
  }
}

/** The staged new pair (the staging Secret mounted at keySource.mountPath); its ID must be the plan's. */
export async function readStagedPair(ctx: StepContext): Promise<KeyPair> {
  const plan = ctx.plan;
  if (plan.keySource.kind === 'providerDrawn') {
    throw rotationError(ctx, 'STEP_FAILED', `keySource providerDrawn has no mounted staging pair: got provider ${plan.provider.kind}. The activate step obtains the pair in the cluster (this is a rotator bug if you see it).`, { keyId: null });
  }
  const dir = plan.keySource.mountPath;
  const fix = `Mount the staging Secret ${plan.rotatorNamespace}/${plan.stagingSecret} there (rekey synth renders it; the sealed-secrets controller must have unsealed it).`;
  const id = (await readTrimmed(ctx, join(dir, STAGING_KEYS.accessKey), 'staging access key', fix)).toString('utf8');
  const secret = await readTrimmed(ctx, join(dir, STAGING_KEYS.secretKey), 'staging secret key', fix);
  if (id !== plan.accessKeyId) {
    throw rotationError(ctx, 'KEY_MISMATCH', `staging Secret ${plan.rotatorNamespace}/${plan.stagingSecret} holds another access-key ID than the plan: got ${id}. The plan and the staging Secret come from one rekey rotate; re-render (rekey synth) and sync both.`);
  }
  return { accessKeyId: id, secretAccessKey: SecretValue.fromBuffer(secret) };
}

/** The provider's admin pair from the mounted admin Secret. */
export async function readAdminPair(ctx: StepContext): Promise<KeyPair> {
  const a = ctx.plan.provider.adminSecret;
  if (a === null) throw rotationError(ctx, 'UNSUPPORTED', `provider ${ctx.plan.provider.name} has no admin Secret: got kind ${ctx.plan.provider.kind}. rekey never calls an external provider.`);
  const fix = `Mount the admin Secret ${ctx.plan.rotatorNamespace}/${a.name} at ${a.mountPath} (rekey synth renders the volume).`;
  const id = (await readTrimmed(ctx, join(a.mountPath, a.accessKeyKey), 'admin access key', fix)).toString('utf8');
  const secret = await readTrimmed(ctx, join(a.mountPath, a.secretKeyKey), 'admin secret key', fix);
  return { accessKeyId: id, secretAccessKey: SecretValue.fromBuffer(secret) };
}

async function caPem(ctx: StepContext): Promise<string | undefined> {
  const ca = ctx.plan.provider.caBundle;
  if (ca === null) return undefined;
  return (await readTrimmed(ctx, join(ca.mountPath, ca.key), 'CA bundle', `Mount the ConfigMap ${ca.configMapName} at ${ca.mountPath}.`)).toString('utf8');
}

/** The default provider factory: MinIO/RustFS admin API or RGW Admin Ops from the plan and the mounted admin Secret; null for `external`. */
export async function defaultProvider(ctx: StepContext): Promise<ProviderClient | null> {
  const p = ctx.plan.provider;
  if (p.kind === 'external') return null;
  if (p.kind === 'aws-iam') {
    if (ctx.plan.keySource.kind !== 'providerDrawn') {
      throw rotationError(ctx, 'UNSUPPORTED', `provider aws-iam needs keySource providerDrawn: got ${ctx.plan.keySource.kind}. IAM draws its keys itself and cannot register a given pair; re-render the plan with an external delivery.`, { keyId: null });
    }
    // endpoint null: the real IAM (and S3 for verification); set: both at that endpoint (tests, a proxy)
    return new AwsIamClient({ connection: { ...(p.endpoint ? { endpoint: p.endpoint } : {}), region: p.region, admin: await readAdminPair(ctx), caPem: await caPem(ctx), logger: ctx.logger } });
  }
  const conn: ProviderConnection = { endpoint: p.endpoint!, region: p.region, admin: await readAdminPair(ctx), caPem: await caPem(ctx), logger: ctx.logger };
  if (p.kind === 'ceph-rgw') return new RgwAdminClient(conn);
  return new MinioAdminClient(conn, { kind: p.kind });
}

/** The identity the plan names, with its policy. */
export function identityOf(ctx: StepContext): IdentitySpec {
  const { identity, policy } = ctx.plan;
  return {
    kind: identity.kind,
    name: identity.name,
    ...(identity.users ? { users: identity.users } : {}),
    ...(policy ? { policy: { name: policy.name, document: policy.document } } : {}),
  };
}

/** Where verification S3 calls go. */
export async function verifyConnection(ctx: StepContext): Promise<VerifyConnection> {
  const p = ctx.plan.provider;
  return { endpoint: p.endpoint ?? 'https://s3.amazonaws.com', provider: p.kind, region: p.region, caPem: await caPem(ctx), logger: ctx.logger };
}

/** Verification options on the context's clock, bounded by `deadlineSeconds`. */
export function verifyOptions(ctx: StepContext, deadlineSeconds: number): VerifyOptions {
  return { deadlineMs: deadlineSeconds * 1000, sleep: ctx.sleep ?? realSleep, now: () => ctx.now().getTime() };
}

const TRANSIENT_PROVIDER_CODES = new Set(['PROVIDER_UNREACHABLE', 'PROVIDER_UNAVAILABLE', 'PROVIDER_TIMEOUT']);

/**
 * Calls an idempotent provider method (every ProviderClient method with a caller-chosen pair is),
 * retrying a lost answer — unreachable (a reset idle socket after a long wait), 5xx, timeout —
 * with backoff, up to 5 attempts: the method observes before it acts, so a retry converges.
 */
export async function providerCall<T>(ctx: StepContext, fn: () => Promise<T>): Promise<T> {
  const sleep = ctx.sleep ?? realSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (attempt >= 4 || typeof code !== 'string' || !TRANSIENT_PROVIDER_CODES.has(code)) throw e;
      await sleep(500 * 2 ** attempt);
    }
  }
}
