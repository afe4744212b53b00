import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { RekeyApp } from '../../lib/project/app.js';
import { Ledger } from '../../lib/project/ledger.js';
import { loadSpecChart } from '../../lib/project/spec-app.js';
import { diffTrees } from '../../lib/project/synth.js';
import { cli, snapshotTree, tempProject } from '../support/project.js';
import { kustomizeBuild, parseManifests, validateManifests } from '../support/validate.js';
import { entry, FAKE_BUNDLE } from './fixtures.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Tool = 'argocd' | 'flux' | 'plain';
const GITOPS: Record<Tool, string> = {
  argocd: 'gitops: { tool: argocd, application: { repoURL: "https://github.com/example/platform.git", targetRevision: main } }\n',
  flux: 'gitops: { tool: flux, flux: { sourceName: platform } }\n',
  plain: 'gitops: { tool: plain }\n',
};

/** Renders the fixture project (uploads rotated to generation 2) in one GitOps mode, in-process, with the fake bundle. */
function render(tool: Tool, generation = 2): string {
  const dir = tempProject();
  dirs.push(dir);
  writeFileSync(join(dir, 'rekey.yaml'), readFileSync(join(dir, 'rekey.yaml'), 'utf8') + GITOPS[tool]);
  const ledger = Ledger.empty().with('uploads', entry('uploads', [['web', 'uploads-s3'], ['jobs', 'uploads-s3']], { generation }));
  const app = new RekeyApp({ outdir: join(dir, 'dist'), ledger, rotatorBundle: FAKE_BUNDLE });
  loadSpecChart(app, 'rekey', { specPath: join(dir, 'rekey.yaml'), warn: () => undefined });
  app.synth();
  return join(dir, 'dist');
}

const files = (dist: string) => [...snapshotTree(dist).keys()];
const docsOf = (dist: string, rel: string) => parseAllDocuments(readFileSync(join(dist, rel), 'utf8')).map((d) => d.toJS());
const STAGES = ['1-rotator', '2-activate', '3-push', '4-targets', '5-deliver', '6-workloads', '7-retire'];

describe.each(['argocd', 'flux', 'plain'] as const)('gitops %s', (tool) => {
  const dist = render(tool);

  it('writes the expected files, byte-identical on a second render', () => {
    const layout = files(dist);
    if (tool === 'argocd') {
      expect(layout).toEqual(['ACCESS.md', 'argocd/application.yaml', 'components/jobs/kustomization.yaml', 'components/web/kustomization.yaml', 'rekey.k8s.yaml']);
    } else {
      // every stage has its manifests.yaml: credentials with nothing in a stage keep a placeholder frame there
      const stages = STAGES.flatMap((s) => [`stages/${s}/kustomization.yaml`, `stages/${s}/manifests.yaml`]);
      expect(layout).toEqual([
        'ACCESS.md',
        ...(tool === 'plain' ? ['README.md'] : []),
        'components/jobs/kustomization.yaml',
        'components/web/kustomization.yaml',
        ...(tool === 'flux' ? ['flux/kustomizations.yaml'] : []),
        ...stages,
      ].sort());
    }
    expect(diffTrees(dist, render(tool))).toEqual([]);
  });

  it('every rendered object validates (manifests, Kustomizations, the Application)', () => {
    const all = files(dist).filter((f) => f.endsWith('.yaml') && !f.startsWith('components/') && !f.endsWith('kustomization.yaml')).flatMap((f) => docsOf(dist, f));
    expect(all.length).toBeGreaterThan(15);
    expect(validateManifests(all)).toEqual([]);
  });

  if (tool !== 'argocd') {
    it('kubectl kustomize builds every stage folder into exactly that stage', () => {
      const kinds = STAGES.map((s) => (parseManifests(kustomizeBuild(join(dist, 'stages', s))) as any[]).map((d) => `${d.kind}/${d.metadata.labels?.['rekey.dev/step'] ?? d.metadata.name}`).sort());
      expect(kinds).toEqual([
        [
          'ConfigMap/rekey-rotator-bundle',
          'ConfigMap/rekey-uploads-g2-plan',
          'Namespace/rekey-system',
          'NetworkPolicy/rekey-rotator',
          'NetworkPolicy/rekey-rustfs-ingress',
          'Role/rekey-uploads-rotator',
          'Role/rekey-uploads-rotator',
          'Role/rekey-uploads-rotator',
          'RoleBinding/rekey-uploads-rotator',
          'RoleBinding/rekey-uploads-rotator',
          'RoleBinding/rekey-uploads-rotator',
          'SealedSecret/rekey-uploads-g2-staging',
          'ServiceAccount/rekey-uploads-rotator',
        ],
        ['Job/activate'],
        [],
        ['SealedSecret/uploads-s3', 'SealedSecret/uploads-s3'],
        ['Job/deliver'],
        [],
        ['Job/retire'],
      ]);
      // no Argo CD annotations outside argocd mode
      expect(JSON.stringify(STAGES.map((s) => kustomizeBuild(join(dist, 'stages', s))))).not.toContain('argocd.argoproj.io');
    });
  }

  it('matches its snapshot', () => {
    const pick = tool === 'argocd' ? ['argocd/application.yaml', 'rekey.k8s.yaml'] : tool === 'flux' ? ['flux/kustomizations.yaml', 'stages/2-activate/manifests.yaml'] : ['README.md', 'stages/7-retire/manifests.yaml'];
    for (const f of pick) expect(readFileSync(join(dist, f), 'utf8')).toMatchSnapshot(f);
  });
});

describe('flux stages', () => {
  it('chain with dependsOn, wait, prune, timeouts from the deadlines, and SealedSecret/ExternalSecret health where they are', () => {
    const ks = docsOf(render('flux'), 'flux/kustomizations.yaml');
    expect(ks.map((k) => [k.metadata.name, k.spec.dependsOn?.[0]?.name ?? null, k.spec.path, k.spec.timeout, k.spec.wait, k.spec.prune, !!k.spec.healthCheckExprs])).toEqual([
      ['rekey-rotator', null, './dist/stages/1-rotator', '10m', true, true, true],
      ['rekey-activate', 'rekey-rotator', './dist/stages/2-activate', '1140s', true, true, false],
      ['rekey-push', 'rekey-activate', './dist/stages/3-push', '10m', true, true, false],
      ['rekey-targets', 'rekey-push', './dist/stages/4-targets', '10m', true, true, true],
      ['rekey-deliver', 'rekey-targets', './dist/stages/5-deliver', '1200s', true, true, false],
      ['rekey-workloads', 'rekey-deliver', './dist/stages/6-workloads', '10m', true, true, false],
      ['rekey-retire', 'rekey-workloads', './dist/stages/7-retire', '4530s', true, true, false],
    ]);
    expect(ks.find((k) => k.metadata.name === 'rekey-targets').spec.healthCheckExprs.map((e: any) => e.kind)).toEqual(['SealedSecret', 'ExternalSecret']);
    expect(ks.every((k) => k.spec.sourceRef.name === 'platform')).toBe(true);
  });
});

describe('plain README', () => {
  it('lists the exact apply-and-wait order', () => {
    const readme = readFileSync(join(render('plain'), 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/-[0-9a-f]{8}$/gm, '-<hash>').trimEnd().split('\n'));
    const apply = (stage: string) => `[ -z "$(kubectl kustomize dist/stages/${stage})" ] || kubectl apply --server-side -k dist/stages/${stage}`;
    // every stage: the same apply line (skipped when its folder builds to nothing), then each credential's waits under its own line
    expect(blocks).toEqual([
      [apply('1-rotator'), '# credential uploads', `kubectl wait -n rekey-system --for=jsonpath='{.status.conditions[?(@.type=="Synced")].status}'=True --timeout=5m sealedsecret/rekey-uploads-g2-staging`, '# credential reports'],
      [apply('2-activate'), '# credential uploads', 'kubectl wait -n rekey-system --for=condition=complete --timeout=1020s job/rekey-uploads-g2-activate-<hash>', '# credential reports'],
      [apply('3-push'), '# credential uploads', '# credential reports'],
      [
        apply('4-targets'),
        '# credential uploads',
        `kubectl wait -n web --for=jsonpath='{.status.conditions[?(@.type=="Synced")].status}'=True --timeout=5m sealedsecret/uploads-s3`,
        `kubectl wait -n jobs --for=jsonpath='{.status.conditions[?(@.type=="Synced")].status}'=True --timeout=5m sealedsecret/uploads-s3`,
        '# credential reports',
      ],
      [apply('5-deliver'), '# credential uploads', 'kubectl wait -n rekey-system --for=condition=complete --timeout=1200s job/rekey-uploads-g2-deliver-<hash>', '# credential reports'],
      [apply('6-workloads'), '# credential uploads', '# credential reports'],
      [apply('7-retire'), '# credential uploads', 'kubectl wait -n rekey-system --for=condition=complete --timeout=4530s job/rekey-uploads-g2-retire-<hash>', '# credential reports'],
      ['# credential uploads', 'kubectl -n rekey-system delete job -l rekey.dev/credential=uploads,rekey.dev/generation=1', '# credential reports', '# nothing to clean up'],
    ]);
  });
});

/**
 * The example (main.ts + rekey.yaml + the committed ledger) copied into a folder inside this
 * repository (so main.ts's import of lib/ resolves), switched to one GitOps mode, synthesized
 * and rotated through the CLI in-process.
 */
function exampleProject(tool: Tool): string {
  const d = mkdtempSync(join(process.cwd(), '.test-app-'));
  dirs.push(d);
  writeFileSync(join(d, 'main.ts'), readFileSync('main.ts', 'utf8').replace("from './lib/index.js'", "from '../lib/index.js'"));
  cpSync('cdk8s.yaml', join(d, 'cdk8s.yaml'));
  cpSync('sealed-secrets.pem', join(d, 'sealed-secrets.pem'));
  cpSync('rekey.ledger.yaml', join(d, 'rekey.ledger.yaml'));
  const spec = readFileSync('rekey.yaml', 'utf8').replace(/\ngitops:\n(  .*\n)+/, '\n' + (tool === 'argocd' ? 'gitops:\n  tool: argocd\n' : GITOPS[tool]));
  writeFileSync(join(d, 'rekey.yaml'), spec.replace('$schema=./schema', '$schema=../schema'));
  return d;
}

describe('one rotation of the example', () => {
  const changed: Record<Tool, string[]> = {
    argocd: ['ACCESS.md', 'components/airflow/kustomization.yaml', 'rekey.k8s.yaml'],
    flux: ['ACCESS.md', 'components/airflow/kustomization.yaml', 'stages/1-rotator/manifests.yaml', 'stages/2-activate/manifests.yaml', 'stages/4-targets/manifests.yaml', 'stages/5-deliver/manifests.yaml', 'stages/7-retire/manifests.yaml'],
    plain: ['ACCESS.md', 'README.md', 'components/airflow/kustomization.yaml', 'stages/1-rotator/manifests.yaml', 'stages/2-activate/manifests.yaml', 'stages/4-targets/manifests.yaml', 'stages/5-deliver/manifests.yaml', 'stages/7-retire/manifests.yaml'],
  };
  it.each(['argocd', 'flux', 'plain'] as const)('%s: changes exactly the expected files', async (tool) => {
    const dir = exampleProject(tool);
    const synth = await cli(dir, ['synth']);
    expect([synth.code, synth.stderr]).toEqual([0, 'rekey: dist/ rendered\n']);
    const before = join(dir, 'before');
    cpSync(join(dir, 'dist'), before, { recursive: true });
    const r = await cli(dir, ['rotate', 'ingest'], new Date('2026-12-01T00:00:00Z'));
    expect(r.code).toBe(0);
    expect(diffTrees(before, join(dir, 'dist'))).toEqual(changed[tool]);
    expect(existsSync(join(dir, 'dist', tool === 'argocd' ? 'rekey.k8s.yaml' : 'stages/7-retire/manifests.yaml'))).toBe(true);
  }, 240_000);
});
