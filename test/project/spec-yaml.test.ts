import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Ledger } from '../../lib/project/ledger.js';
import { parseSpec } from '../../lib/project/spec.js';
import { cli, snapshotTree, projectsRemovedAfterEach } from '../support/project.js';

const NOW = new Date('2026-11-01T10:00:00.000Z');
const project = projectsRemovedAfterEach();
const FIXTURE = readFileSync(join(process.cwd(), 'test/fixtures/project/rekey.yaml'), 'utf8');
const DOC = /document: \{.*\}/;

describe('rekey.yaml parsing: one line, exit 1, never a crash or a silently dropped value', () => {
  it.each([
    [
      'an alias bomb',
      FIXTURE.replace(/extraKeys: \{.*\}/, 'extraKeys:\n      a: &a [x,x,x,x,x,x,x,x,x]\n      b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n      c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n      d: [*c,*c,*c,*c,*c,*c,*c,*c,*c]'),
      'rekey.yaml expands YAML aliases too often (an alias bomb?): got more than 100 alias expansions. Write the values out, or use fewer aliases.',
    ],
    ['a recursive alias in policy.document', FIXTURE.replace(DOC, 'document: &d { Version: "2012-10-17", Statement: [*d] }'), 'rekey.yaml credentials[0].policy.document.Statement[0] contains itself through a YAML alias: got a recursive alias. Write the value out without an alias.'],
    ['__proto__ in extraKeys', FIXTURE.replace(/extraKeys: \{/, 'extraKeys: { __proto__: x, '), 'rekey.yaml credentials[0].extraKeys has a key named "__proto__": got "__proto__". Rename the key: rekey does not accept __proto__ as a key.'],
    ['__proto__ in policy.document', FIXTURE.replace(/document: \{/, 'document: { __proto__: { Version: x }, '), 'rekey.yaml credentials[0].policy.document has a key named "__proto__": got "__proto__". Rename the key: rekey does not accept __proto__ as a key.'],
    ['name: -.inf', FIXTURE.replace('- name: uploads', '- name: -.inf'), 'rekey.yaml credentials[0].name must be a string: got -Infinity. Give the credential name as a lowercase DNS label.'],
    ['a policy document without Statement', FIXTURE.replace(DOC, 'document: { Version: "2012-10-17" }'), 'rekey.yaml credentials[0].policy.document.Statement is required: got nothing. Give Version: "2012-10-17" and Statement with Effect, Action and Resource, as in an AWS IAM policy.'],
    ['a policy document that is a string', FIXTURE.replace(DOC, 'document: "s3:*"'), 'rekey.yaml credentials[0].policy.document must be an IAM policy document (a mapping): got "s3:*". Give Version: "2012-10-17" and Statement with Effect, Action and Resource, as in an AWS IAM policy.'],
    ['an unquoted Version (a date)', FIXTURE.replace('Version: "2012-10-17"', 'Version: 2012-10-17x'), 'rekey.yaml credentials[0].policy.document.Version must be "2012-10-17": got "2012-10-17x". Set Version: "2012-10-17" (quoted).'],
    ['an Effect that is not Allow/Deny', FIXTURE.replace('Effect: Allow', 'Effect: Maybe'), 'rekey.yaml credentials[0].policy.document.Statement[0].Effect must be Allow or Deny: got "Maybe". Set Effect: Allow or Effect: Deny.'],
    ['a statement without Action', FIXTURE.replace('Action: ["s3:*"], ', ''), 'rekey.yaml credentials[0].policy.document.Statement[0].Action must be given (or NotAction, not both): got nothing. Give Action, e.g. s3:GetObject, or NotAction.'],
    ['an empty Resource list', FIXTURE.replace('Resource: ["arn:aws:s3:::uploads/*"]', 'Resource: []'), 'rekey.yaml credentials[0].policy.document.Statement[0].Resource must not be empty: got []. Give at least one Resource, e.g. arn:aws:s3:::bucket/*,.'],
    ['a Principal (identity policies have none)', FIXTURE.replace('Effect: Allow,', 'Effect: Allow, Principal: "*",'), 'rekey.yaml credentials[0].policy.document.Statement[0].Principal is not a statement field: got "*". Remove it: a statement has Sid, Effect, Action or NotAction, Resource or NotResource, and Condition.'],
    ['a misspelt statement field (one line: the rename)', FIXTURE.replace('Action: ["s3:*"]', 'Acton: ["s3:*"]'), 'rekey.yaml credentials[0].policy.document.Statement[0].Acton is not a statement field: got ["s3:*"]. Rename it to Action: a statement has Sid, Effect, Action or NotAction, Resource or NotResource, and Condition.'],
    [
      'problems in two statements (one line each)',
      FIXTURE.replace(DOC, 'document: { Version: "2012-10-17", Statement: [{ Effect: Maybe, Action: "s3:*", Resource: "*" }, { Effect: Allow, Action: [], Resource: "*", Principal: x }] }'),
      [
        'rekey.yaml credentials[0].policy.document.Statement[0].Effect must be Allow or Deny: got "Maybe". Set Effect: Allow or Effect: Deny.',
        'rekey.yaml credentials[0].policy.document.Statement[1].Action must not be empty: got []. Give at least one Action, e.g. s3:GetObject,.',
        'rekey.yaml credentials[0].policy.document.Statement[1].Principal is not a statement field: got "x". Remove it: a statement has Sid, Effect, Action or NotAction, Resource or NotResource, and Condition.',
      ].join('\n'),
    ],
  ])('%s', async (_name, text, message) => {
    const dir = project();
    expect((await cli(dir, ['rotate', 'uploads'], NOW)).code).toBe(0);
    writeFileSync(join(dir, 'rekey.yaml'), text);
    const before = snapshotTree(dir);
    expect(await cli(dir, ['rotate', 'uploads'], NOW)).toEqual({ code: 1, stdout: '', stderr: message.split('\n').map((l) => `rekey: error: ${l}\n`).join('') });
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('accepts a valid IAM document: one statement or a list, NotAction/NotResource, Condition', () => {
    for (const doc of [
      '{ Version: "2012-10-17", Statement: { Effect: Allow, Action: "s3:GetObject", Resource: "*" } }',
      '{ Version: "2012-10-17", Id: p1, Statement: [{ Sid: Read1, Effect: Deny, NotAction: ["s3:Get*"], NotResource: "arn:aws:s3:::x" }] }',
      '{ Version: "2012-10-17", Statement: [{ Effect: Allow, Action: s3:ListBucket, Resource: "*", Condition: { StringLike: { "s3:prefix": [a/*, b/*] }, Bool: { "aws:SecureTransport": true } } }] }',
    ]) {
      const spec = parseSpec(FIXTURE.replace(DOC, `document: ${doc}`));
      expect(spec.credentials[0]!.policy!.document).toEqual(expect.objectContaining({ Version: '2012-10-17' }));
    }
  });
});

describe('a closed stdout (rekey rotate ... | true)', () => {
  it('exits 0 once the rotation is written, with no stack trace', async () => {
    const dir = project();
    const child = spawn(process.execPath, ['--import', 'tsx', join(process.cwd(), 'bin/rekey-dev.ts'), 'rotate', 'uploads', '--dir', dir], {
      cwd: process.cwd(),
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy(); // the reader went away before rekey wrote anything
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(Ledger.load(join(dir, 'rekey.ledger.yaml')).get('uploads')!.generation).toBe(1);
  }, 120_000);
});
