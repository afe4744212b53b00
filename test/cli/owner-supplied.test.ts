import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { runCli } from '../../lib/cli/index.js';
import type { SecretInput } from '../../lib/cli/secret-input.js';
import { Ledger } from '../../lib/project/ledger.js';
import { FIXTURE, projectsRemovedAfterEach, readManifests, recoverSecrets, snapshotTree } from '../support/project.js';

/**
 * Owner-supplied keys (issue 11 item 4): for a credential whose provider is `external`,
 * `rekey rotate <c> --access-key-id <id>` takes the secret from standard input — never an
 * argument, never echoed — validates both, seals it and renders as usual (plan keySource
 * ownerSupplied). Every refusal is one line, exit 1, nothing written.
 */

const NOW = new Date('2026-11-01T10:00:00.000Z');
// An obviously fake secret (AWS's documentation example).
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const ID = 'VENDORKEY0001';

const EXTERNAL = (delivery: string) =>
  readFileSync(join(FIXTURE, 'rekey.yaml'), 'utf8').replace(
    'credentials:\n',
    `  - name: vendor
    kind: external
credentials:
  - name: partner
    provider: vendor
    identity: { kind: user, name: partner }
    aliases: [aws]
    delivery: ${delivery}
    targets:
      - { namespace: web, secretName: partner-s3 }
    consumers:
      - { kind: Deployment, name: web, namespace: web, env: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY] }
    rotationPolicy: { mode: TimeBased, intervalDays: 30 }
`,
  );
const project = projectsRemovedAfterEach();

/** The CLI in a separate process (what a user runs), with `stdin` piped in (or /dev/null). */
function spawnCli(dir: string, args: string[], stdin: string | null): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(process.cwd(), 'bin/rekey-dev.ts'), ...args, '--dir', dir], {
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: [stdin === null ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    if (stdin !== null) child.stdin!.end(stdin);
  });
}

/** The CLI in-process with `stdin` as standard input. */
async function cliWith(dir: string, args: string[], stdin: SecretInput): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd: dir, now: () => NOW, stdin });
  return { code, stdout, stderr };
}
const piped = (text: string): SecretInput => Readable.from([Buffer.from(text)]);

/** A terminal: raw mode recorded, keystrokes delivered as typed. */
function terminal(keys: string): SecretInput & { raw: boolean[] } {
  const raw: boolean[] = [];
  const stream = Readable.from([Buffer.from(keys)]) as unknown as SecretInput & { raw: boolean[] };
  return Object.assign(stream, { isTTY: true, raw, setRawMode: (r: boolean) => raw.push(r) });
}

/** Every file of the project as text, to look for the secret. */
const allText = (dir: string) => [...snapshotTree(dir).values()].join('\n');

describe('rekey rotate <credential> --access-key-id <id> (secret on standard input)', () => {
  it('seals the piped secret for the staging Secret and every target, renders ownerSupplied, and shows the secret nowhere', async () => {
    // GIVEN a credential of an external provider with sealed delivery
    const dir = project(EXTERNAL('{ kind: sealed }'));
    // WHEN its owner pipes the new secret in (a separate process, as a user runs it)
    const r = await spawnCli(dir, ['rotate', 'partner', '--access-key-id', ID], `${SECRET}\n`);
    // THEN it rotated with exactly that pair
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`rotated partner: generation 1, access key ${ID} (supplied by its owner)`);
    const ledger = Ledger.load(join(dir, 'rekey.ledger.yaml'));
    expect(ledger.get('partner')).toMatchObject({ generation: 1, accessKeyId: ID, provider: 'vendor', delivery: 'sealed' });
    expect(recoverSecrets(dir).get('partner')).toEqual({ accessKeyId: ID, secret: SECRET });
    // AND the plan takes the key from the staging Secret as owner-supplied
    const plan = readManifests(join(dir, 'dist')).find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'rekey-partner-g1-plan');
    const planJson = JSON.parse(Object.values(plan.data as Record<string, string>)[0]!);
    expect(planJson.keySource.kind).toBe('ownerSupplied');
    expect(planJson.accessKeyId).toBe(ID);
    // AND the secret is in no file, output or error
    expect(allText(dir)).not.toContain(SECRET);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  }, 60_000);

  it('plain delivery: the ledger holds the secret in clear, as plain delivery opts in to', async () => {
    const dir = project(EXTERNAL('{ kind: plain, acknowledgeInsecure: true }'));
    const r = await cliWith(dir, ['rotate', 'partner', '--access-key-id', ID], piped(`${SECRET}\r\n`));
    expect(r.code).toBe(0);
    expect(Ledger.load(join(dir, 'rekey.ledger.yaml')).get('partner')!.plainSecretAccessKey!.reveal()).toBe(SECRET);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  }, 60_000);

  it('reads from a terminal with echo off: raw mode on, then off; only the prompt and a newline are written', async () => {
    const dir = project(EXTERNAL('{ kind: sealed }'));
    const tty = terminal(`${SECRET}x\u007f\r`);
    const r = await cliWith(dir, ['rotate', 'partner', '--access-key-id', ID], tty);
    expect(r.code).toBe(0);
    expect(tty.raw).toEqual([true, false]);
    expect(r.stderr.startsWith(`Secret access key of ${ID} for partner (not echoed): \n`)).toBe(true);
    expect(recoverSecrets(dir).get('partner')).toEqual({ accessKeyId: ID, secret: SECRET });
  }, 60_000);
});

describe('refusals: one line, exit 1, nothing written, the secret never shown', () => {
  const HOW = `<command that prints the secret> | rekey rotate partner --access-key-id ${ID}`;
  const refused = async (dir: string, r: Promise<{ code: number; stdout: string; stderr: string }>, message: string) => {
    const before = snapshotTree(dir);
    expect(await r).toEqual({ code: 1, stdout: '', stderr: `rekey: error: ${message}\n` });
    expect(snapshotTree(dir)).toEqual(before);
  };

  it('no standard input (a separate process with stdin closed)', async () => {
    const dir = project(EXTERNAL('{ kind: sealed }'));
    await refused(dir, spawnCli(dir, ['rotate', 'partner', '--access-key-id', ID], null), `rekey rotate --access-key-id reads the new secret access key from standard input: got nothing. Pipe it in (never as an argument): ${HOW}`);
  }, 60_000);

  it('--access-key-id on a credential whose provider is not external (a separate process, secret piped)', async () => {
    const dir = project(EXTERNAL('{ kind: sealed }'));
    await refused(
      dir,
      spawnCli(dir, ['rotate', 'uploads', '--access-key-id', ID], `${SECRET}\n`),
      'rekey rotate --access-key-id only applies to a credential whose provider is external: got uploads with provider rustfs (rustfs). Drop --access-key-id: rekey draws the new key of uploads itself.',
    );
  }, 60_000);

  it.each([
    ['empty input', '', `rekey rotate --access-key-id reads the new secret access key from standard input: got nothing. Pipe it in (never as an argument): ${HOW}`],
    ['an empty line', '\n', `rekey rotate --access-key-id reads the new secret access key from standard input: got nothing. Pipe it in (never as an argument): ${HOW}`],
    ['a short secret', 'abc1234\n', 'rekey rotate standard input is not a secret access key rekey can deliver: got 7 characters. Pipe in the secret alone: 8 to 128 printable ASCII characters, no spaces.'],
    ['a secret with a space', 'abcd efgh1234\n', 'rekey rotate standard input is not a secret access key rekey can deliver: got a space or a non-printable or non-ASCII character at position 5. Pipe in the secret alone: 8 to 128 printable ASCII characters, no spaces.'],
    ['two lines', `${ID}\n${SECRET}\n`, 'rekey rotate standard input has more than one line: got 2 lines. Pipe in the secret access key alone, on one line (the ID goes in --access-key-id).'],
  ])('%s on standard input', async (_name, input, message) => {
    const dir = project(EXTERNAL('{ kind: sealed }'));
    await refused(dir, cliWith(dir, ['rotate', 'partner', '--access-key-id', ID], piped(input)), message);
  }, 60_000);

  it('a terminal where nothing was typed (Enter alone)', async () => {
    const dir = project(EXTERNAL('{ kind: sealed }'));
    const before = snapshotTree(dir);
    const r = await cliWith(dir, ['rotate', 'partner', '--access-key-id', ID], terminal('\r'));
    expect(r).toEqual({ code: 1, stdout: '', stderr: `Secret access key of ${ID} for partner (not echoed): \nrekey: error: rekey rotate --access-key-id reads the new secret access key from standard input: got nothing. Pipe it in (never as an argument): ${HOW}\n` });
    expect(snapshotTree(dir)).toEqual(before);
  }, 60_000);

  it('an access-key ID no provider allows', async () => {
    const dir = project(EXTERNAL('{ kind: sealed }'));
    await refused(
      dir,
      cliWith(dir, ['rotate', 'partner', '--access-key-id', 'a b'], piped(`${SECRET}\n`)),
      'rekey rotate --access-key-id has characters or a length no provider allows: got "a b". Give the new key\'s ID as the owner shows it (3 to 128 of A-Z a-z 0-9 . _ @ + = -); the secret goes on standard input.',
    );
  });

  it('the current key again', async () => {
    const dir = project(EXTERNAL('{ kind: sealed }'));
    expect((await cliWith(dir, ['rotate', 'partner', '--access-key-id', ID], piped(`${SECRET}\n`))).code).toBe(0);
    await refused(
      dir,
      cliWith(dir, ['rotate', 'partner', '--access-key-id', ID], piped(`${SECRET}\n`)),
      `rekey rotate --access-key-id is partner's current key: got "${ID}". Give the ID of the new key the owner created (the current one is retired after the rotation).`,
    );
  }, 60_000);

  it('an external credential rotated without --access-key-id', async () => {
    const dir = project(EXTERNAL('{ kind: sealed }'));
    await refused(
      dir,
      cliWith(dir, ['rotate', 'partner'], piped('')),
      'rekey rotate credential partner uses provider vendor of kind external, whose owner creates the keys: got no --access-key-id. Pipe the new secret access key in and name its ID: <command that prints the secret> | rekey rotate partner --access-key-id <id>',
    );
  }, 60_000);

  it('with more than one credential, or with --due', async () => {
    const dir = project(EXTERNAL('{ kind: sealed }'));
    const usage = '<command that prints the secret> | rekey rotate <credential> --access-key-id <id>';
    await refused(dir, cliWith(dir, ['rotate', 'partner', 'uploads', '--access-key-id', ID], piped(`${SECRET}\n`)), `rekey rotate --access-key-id takes one credential: got partner uploads. ${usage}`);
    await refused(dir, cliWith(dir, ['rotate', '--due', '--access-key-id', ID], piped(`${SECRET}\n`)), `rekey rotate --access-key-id takes one credential: got --due. ${usage}`);
  });
});

describe('rekey rotate --due with an owner-supplied credential due', () => {
  it('rotates the others and says how to rotate it', async () => {
    const dir = project(EXTERNAL('{ kind: sealed }'));
    const r = await cliWith(dir, ['rotate', '--due'], piped(''));
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^rotated uploads: generation 1/);
    expect(r.stderr).toContain('rekey: partner is due, but its keys come from its provider\'s owner: <command that prints the secret> | rekey rotate partner --access-key-id <id>\n');
    expect(Ledger.load(join(dir, 'rekey.ledger.yaml')).names()).toEqual(['uploads']);
  }, 60_000);
});
