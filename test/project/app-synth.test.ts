import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ApiObject, Chart } from 'cdk8s';
import { RekeyApp } from '../../lib/project/app.js';
import { Ledger } from '../../lib/project/ledger.js';
import { loadSpecChart } from '../../lib/project/spec-app.js';
import { entry, FAKE_BUNDLE } from '../constructs/fixtures.js';
import { tempProject } from '../support/project.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The fixture project (uploads at generation 1) plus a chart of the user's own, optionally depending on the rekey chart. */
function render(dependOnRekey: boolean): string {
  const dir = tempProject();
  dirs.push(dir);
  const app = new RekeyApp({ outdir: join(dir, 'dist'), ledger: Ledger.empty().with('uploads', entry('uploads', [['web', 'uploads-s3'], ['jobs', 'uploads-s3']])), rotatorBundle: FAKE_BUNDLE });
  const rekey = loadSpecChart(app, 'rekey', { specPath: join(dir, 'rekey.yaml'), warn: () => undefined });
  const platform = new Chart(app, 'platform');
  const cm = new ApiObject(platform, 'settings', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'web' } });
  if (dependOnRekey) cm.node.addDependency(rekey.chart);
  app.synth();
  return join(dir, 'dist');
}

describe('RekeyApp writes one file per chart', () => {
  it('GIVEN charts without dependencies WHEN synthesized THEN each chart has its own file and the credentials are framed', () => {
    const dist = render(false);
    expect(readdirSync(dist).filter((f) => f.endsWith('.k8s.yaml')).sort()).toEqual(['platform.k8s.yaml', 'rekey.k8s.yaml']);
    const rekey = readFileSync(join(dist, 'rekey.k8s.yaml'), 'utf8');
    expect(rekey).toContain('# --- credential uploads ---\n');
    expect(rekey).toContain('# --- end of credential uploads ---\n');
    expect(readFileSync(join(dist, 'platform.k8s.yaml'), 'utf8')).toBe('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: web\n');
  });

  it('GIVEN a chart depending on the rekey chart WHEN synthesized THEN cdk8s numbers the files in dependency order and the rekey file is still framed', () => {
    const dist = render(true);
    expect(readdirSync(dist).filter((f) => f.endsWith('.k8s.yaml')).sort()).toEqual(['0000-rekey.k8s.yaml', '0001-platform.k8s.yaml']);
    const rekey = readFileSync(join(dist, '0000-rekey.k8s.yaml'), 'utf8');
    expect(rekey).toContain('# --- credential uploads ---\n');
    expect(rekey.replace(/^# .*\n/gm, '')).toBe(readFileSync(join(render(false), 'rekey.k8s.yaml'), 'utf8').replace(/^# .*\n/gm, ''));
  });
});
