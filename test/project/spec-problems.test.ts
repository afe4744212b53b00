import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { closestField, knownFieldsAt, MAX_PROBLEMS, problemsError } from '../../lib/project/spec-problems.js';
import { parseSpecDocument, specSchema } from '../../lib/project/spec.js';
import { cli, projectsRemovedAfterEach } from '../support/project.js';
import { baseSpec } from '../support/spec-cases.js';

const project = projectsRemovedAfterEach();

describe('every spec problem, up to a cap', () => {
  it('GIVEN 11 and 12 problems WHEN reported THEN the first 10 lines, then one line counting the rest', () => {
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `rekey.yaml p${i} is wrong: got ${i}. Fix it.`);
    expect(problemsError('rekey.yaml', lines(10), 'SPEC_INVALID').message.split('\n')).toEqual(lines(10));
    expect(problemsError('rekey.yaml', lines(11), 'SPEC_INVALID').message.split('\n')).toEqual([...lines(10), '… and 1 more problem in rekey.yaml: got 11 in all. Fix the ones above and run again to see the rest.']);
    const twelve = problemsError('rekey.yaml', [...lines(12), lines(1)[0]!], 'SPEC_INVALID');
    expect(twelve.message.split('\n')).toHaveLength(MAX_PROBLEMS + 1);
    expect(twelve.message.split('\n')[MAX_PROBLEMS]).toBe('… and 2 more problems in rekey.yaml: got 12 in all. Fix the ones above and run again to see the rest.');
    expect(twelve.exitCode).toBe(1);
    expect(twelve.code).toBe('SPEC_INVALID');
  });

  it('suggests the closest known field only for a near miss', () => {
    expect(closestField('intervallDays', ['mode', 'intervalDays', 'overlapSeconds'])).toBe('intervalDays');
    expect(closestField('Consumers', ['targets', 'consumers'])).toBe('consumers');
    expect(closestField('overlap', ['mode', 'intervalDays', 'overlapSeconds'])).toBeUndefined();
    expect(closestField('rotateSeconds', ['activateSeconds', 'deliverSeconds'])).toBeUndefined();
    expect(closestField('ttl', ['namespace', 'image'])).toBeUndefined();
  });

  it('knows the fields of every mapping from the zod shape, unions by their discriminator', () => {
    const raw = baseSpec();
    expect(knownFieldsAt(specSchema, ['credentials', 0, 'rotationPolicy'], raw)).toEqual(['mode', 'intervalDays', 'overlapSeconds']);
    expect(knownFieldsAt(specSchema, ['credentials', 1, 'delivery'], raw)).toEqual(['kind', 'scope']);
    expect(knownFieldsAt(specSchema, ['rotator', 'deadlines'], raw)).toEqual(['activateSeconds', 'deliverSeconds', 'retireSeconds', 'verifySeconds', 'kubeletRefreshSeconds']);
    expect(knownFieldsAt(specSchema, ['providers', 0, 'adminCredential'], raw)).toEqual(['secretName', 'accessKeyKey', 'secretKeyKey']);
    expect(knownFieldsAt(specSchema, ['credentials', 0, 'extraKeys'], raw)).toEqual([]);
  });

  it('GIVEN a typo in a field of a union WHEN parsed THEN one line: the rename, with the known fields', () => {
    const s = baseSpec();
    s.credentials[1].delivery = { kind: 'sealed', scoop: 'strict' };
    expect(() => parseSpecDocument(stringify(s))).toThrow(
      'rekey.yaml credentials[1].delivery has unknown field "scoop": got "scoop". Rename it to scope (known fields: kind, scope).',
    );
  });

  it('GIVEN a TypeScript app (cdk8s.yaml) over a rekey.yaml with two cross-field problems WHEN rekey check runs THEN both lines come back from the app process, exit 1', async () => {
    // GIVEN a project whose app is a cdk8s program in its own process
    const dir = project();
    const tsx = join(process.cwd(), 'node_modules/.bin/tsx');
    writeFileSync(join(dir, 'cdk8s.yaml'), `language: typescript\napp: ${tsx} main.ts\noutput: dist\n`);
    writeFileSync(
      join(dir, 'main.ts'),
      `import { loadSpecChart, RekeyApp, runApp } from '${join(process.cwd(), 'lib/index.js')}';\nrunApp(() => {\n  const app = new RekeyApp();\n  loadSpecChart(app, 'rekey');\n  app.synth();\n});\n`,
    );
    const s = baseSpec();
    s.credentials[0].provider = 'minio';
    s.credentials[1].consumers[0].namespace = 'api';
    writeFileSync(join(dir, 'rekey.yaml'), stringify(s));
    // WHEN
    const r = await cli(dir, ['check']);
    // THEN
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'rekey: error: rekey.yaml credentials[0].provider names no provider: got "minio". Use one of: rustfs.\n' +
        'rekey: error: rekey.yaml credentials[1].consumers[0].namespace has no target of credential reports: got "api". Add a target in namespace api: a Secret is only readable from its own namespace.\n',
    });
  }, 120_000);
});
