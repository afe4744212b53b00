import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Ledger } from '../../lib/project/ledger.js';
import { cli, readManifests, removeProject, snapshotTree, tempProject } from '../support/project.js';

const NOW = new Date('2026-11-01T10:00:00.000Z');
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach(removeProject));
async function rotated(): Promise<string> {
  const dir = tempProject();
  dirs.push(dir);
  expect((await cli(dir, ['rotate', 'uploads'], NOW)).code).toBe(0);
  return dir;
}
const jobs = (dir: string) =>
  readManifests(join(dir, 'dist'))
    .filter((o) => o.kind === 'Job' && o.metadata.labels['rekey.dev/credential'] === 'uploads')
    .map((o) => (o.metadata.name as string).replace(/-[0-9a-f]{8}$/, '-<hash>'))
    .sort();

describe('rekey revoke', () => {
  it('GIVEN no --yes WHEN run THEN it says what it would do, exits 1 and writes nothing', async () => {
    const dir = await rotated();
    const before = snapshotTree(dir);
    const key = Ledger.load(join(dir, 'rekey.ledger.yaml')).get('uploads')!.accessKeyId;
    const r = await cli(dir, ['revoke', 'uploads'], NOW);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      `rekey revoke uploads would draw a new key (generation 2), and after the merge activate it and revoke ${key} at once, with no overlap.\n` +
        'Consumer pods still running the old key fail until they restart: Deployment/web/web, CronJob/jobs/cleanup. The rotation record lists the pods that were still stale.\n' +
        'Nothing was written. Run rekey revoke uploads --yes to render it.\n',
    );
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('GIVEN --yes WHEN run THEN generation 2 renders the revoke and deliver Jobs, no activate or retire', async () => {
    const dir = await rotated();
    const old = Ledger.load(join(dir, 'rekey.ledger.yaml')).get('uploads')!.accessKeyId;
    const r = await cli(dir, ['revoke', 'uploads', '--yes'], NOW);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^revoke rendered for uploads: generation 2, access key [A-Z0-9]{20} revokes ${old} at once\n`));
    const e = Ledger.load(join(dir, 'rekey.ledger.yaml')).get('uploads')!;
    expect([e.generation, e.revoke, e.previousAccessKeyId]).toEqual([2, true, old]);
    expect(jobs(dir)).toEqual(['rekey-uploads-g2-deliver-<hash>', 'rekey-uploads-g2-revoke-<hash>']);
    expect((await cli(dir, ['status'], NOW)).stdout).toMatch(/\nuploads +rustfs +sealed +2 revoke /);
    expect((await cli(dir, ['check'])).code).toBe(0);
  }, 60_000);

  it('GIVEN a credential never rotated WHEN revoked THEN exit 1 with one line, nothing written', async () => {
    const dir = tempProject();
    dirs.push(dir);
    const before = snapshotTree(dir);
    const r = await cli(dir, ['revoke', 'uploads', '--yes'], NOW);
    expect([r.code, r.stderr]).toEqual([1, 'rekey: error: rekey revoke credential uploads has no key to revoke: got a credential never rotated or adopted. Use rekey rotate uploads, or rekey adopt it first.\n']);
    expect(snapshotTree(dir)).toEqual(before);
  });
});

describe('rekey retry', () => {
  it('GIVEN a rotated credential WHEN retry --step deliver twice THEN the deliver Job is renamed -a2 then -a3, the other Jobs keep their names', async () => {
    const dir = await rotated();
    expect(jobs(dir)).toEqual(['rekey-uploads-g1-activate-<hash>', 'rekey-uploads-g1-deliver-<hash>']);
    const first = await cli(dir, ['retry', 'uploads', '--step', 'deliver'], NOW);
    expect([first.code, first.stdout.split('\n')[0]]).toEqual([0, 'retry rendered: uploads generation 1 deliver, attempt 2']);
    expect(jobs(dir)).toEqual(['rekey-uploads-g1-activate-<hash>', 'rekey-uploads-g1-deliver-a2-<hash>']);
    expect((await cli(dir, ['retry', 'uploads', '--step', 'deliver'], NOW)).code).toBe(0);
    expect(jobs(dir)).toEqual(['rekey-uploads-g1-activate-<hash>', 'rekey-uploads-g1-deliver-a3-<hash>']);
    expect(Ledger.load(join(dir, 'rekey.ledger.yaml')).get('uploads')!.attempts).toEqual({ deliver: 3 });
    const status = await cli(dir, ['status', '--output', 'json'], NOW);
    expect(JSON.parse(status.stdout).find((r: { credential: string }) => r.credential === 'uploads').attempts).toEqual({ deliver: 3 });
    expect((await cli(dir, ['status'], NOW)).stdout).toMatch(/\nuploads +rustfs +sealed +1 deliver a3 /);
    expect((await cli(dir, ['check'])).code).toBe(0);
  }, 60_000);

  it.each([
    ['a step the generation does not have', ['retry', 'uploads', '--step', 'retire'], 'rekey: error: rekey retry --step is not a step of uploads generation 1: got "retire". Use one of activate, deliver.\n', true],
    ['a credential never rotated', ['retry', 'reports'], 'rekey: error: rekey retry credential reports has no rotation to retry: got a credential never rotated. Run rekey rotate reports.\n', true],
    ['an unknown credential', ['retry', 'nope'], 'rekey: error: rekey retry credential is not defined in this project: got "nope". Use one of: uploads, reports.\n', true],
  ])('GIVEN %s WHEN retried THEN exit 1 with one line, nothing written', async (_name, args, stderr) => {
    const dir = await rotated();
    const before = snapshotTree(dir);
    const r = await cli(dir, args as string[], NOW);
    expect([r.code, r.stderr]).toEqual([1, stderr]);
    expect(snapshotTree(dir)).toEqual(before);
  }, 60_000);
});
