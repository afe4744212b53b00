import { describe, expect, it } from '@jest/globals';
import { ESLint } from 'eslint';

/** The layer rule of eslint.config.js, driven as `npm test` runs it, on imports that must fail and pass. */
const eslint = new ESLint({ cwd: process.cwd() });
async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: file });
  return result!.messages.map((m) => m.message);
}

describe('layer boundaries (eslint no-restricted-imports)', () => {
  it.each([
    ['lib/core/x.ts', "import { App } from 'cdk8s';\nexport const a = App;\n", 'lib/core runs in the rotator bundle: no cdk8s or constructs.'],
    ['lib/core/x.ts', "import { readFileSync } from 'node:fs';\nexport const a = readFileSync;\n", 'lib/core has no file-system layer: take bytes or text from the caller.'],
    ['lib/providers/minio/x.ts', "import { Construct } from 'constructs';\nexport const a = Construct;\n", 'lib/providers runs in the rotator bundle: no cdk8s or constructs.'],
    ['lib/providers/minio/x.ts', "import { writeFileSync } from 'fs';\nexport const a = writeFileSync;\n", 'lib/providers has no file-system layer: the rotator reads mounted files and hands the clients values.'],
    ['lib/rotator/x.ts', "import { Credential } from '../constructs/credential.js';\nexport const a = Credential;\n", 'lib/rotator may import lib/core and lib/providers only.'],
    ['lib/rotator/x.ts', "import { k8s } from 'cdk8s-plus-28';\nexport const a = k8s;\n", 'lib/rotator is bundled for the cluster: no cdk8s or constructs.'],
    ['lib/constructs/x.ts', "import { Ledger } from '../project/ledger.js';\nexport const a = Ledger;\n", 'lib/constructs may import lib/project for types only (the project layer builds on the constructs).'],
    ['lib/project/x.ts', "import { runCli } from '../cli/index.js';\nexport const a = runCli;\n", 'lib/project may not import the CLI or the rotator (it bundles the rotator as a file).'],
  ])('GIVEN %s importing across its boundary WHEN linted THEN it fails', async (file, code, message) => {
    expect((await problems(file, code)).map((m) => m.replace(/^.* import is restricted from being used by a pattern\. /, ''))).toEqual([message]);
  });

  it.each([
    ['lib/constructs/x.ts', "import type { Ledger } from '../project/ledger.js';\nexport type A = Ledger;\n"],
    ['lib/rotator/x.ts', "import { SecretValue } from '../core/secret-value.js';\nexport const a = SecretValue;\n"],
    ['lib/providers/x.ts', "import { ValidationError } from '../core/errors.js';\nexport const a = ValidationError;\n"],
  ])('GIVEN %s importing what its layer may WHEN linted THEN it passes', async (file, code) => {
    expect(await problems(file, code)).toEqual([]);
  });
});
