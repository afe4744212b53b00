// Layer boundaries (DESIGN "Layout"): which folder of lib/ may import what. `npm test` runs
// this; it is the only rule set here — style is left to review.
import tseslint from 'typescript-eslint';

// Bare package names only (a relative '../constructs/x.js' is a layer, matched below).
const CDK8S = '^(cdk8s|cdk8s-plus-28|constructs)(/.*)?$';
const FS = '^(node:)?(fs|fs/promises|child_process)$';
const layers = (...names) => `^\\.{1,2}/(.*/)?(${names.join('|')})(/|$)`;
const pattern = (regex, message, allowTypeImports = false) => ({ regex, message, allowTypeImports });

/** no-restricted-imports for one layer. */
const restrict = (files, patterns) => ({
  files,
  languageOptions: { parser: tseslint.parser },
  plugins: { '@typescript-eslint': tseslint.plugin },
  rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
});

export default [
  { ignores: ['node_modules/**', 'build/**', 'dist/**', 'imports/**', '.rekey-tmp-*/**', '.test-app-*/**'] },
  // core: safe for the rotator bundle — no cdk8s, no file system, no other layer.
  restrict(['lib/core/**/*.ts'], [
    pattern(CDK8S, 'lib/core runs in the rotator bundle: no cdk8s or constructs.'),
    pattern(FS, 'lib/core has no file-system layer: take bytes or text from the caller.'),
    pattern(layers('constructs', 'project', 'providers', 'rotator', 'cli', 'imports'), 'lib/core depends on nothing else in lib/.'),
  ]),
  // providers: clients only — no cdk8s, no file system, no constructs/project/cli/rotator.
  restrict(['lib/providers/**/*.ts'], [
    pattern(CDK8S, 'lib/providers runs in the rotator bundle: no cdk8s or constructs.'),
    pattern(FS, 'lib/providers has no file-system layer: the rotator reads mounted files and hands the clients values.'),
    pattern(layers('constructs', 'project', 'rotator', 'cli', 'imports'), 'lib/providers may import lib/core only.'),
  ]),
  // rotator: bundled and run in the cluster — never constructs, cdk8s, the project or the CLI.
  restrict(['lib/rotator/**/*.ts'], [
    pattern(CDK8S, 'lib/rotator is bundled for the cluster: no cdk8s or constructs.'),
    pattern(layers('constructs', 'project', 'cli', 'imports'), 'lib/rotator may import lib/core and lib/providers only.'),
  ]),
  // constructs: cdk8s constructs — no CLI, no rotator, no file system; the project layer for types only.
  restrict(['lib/constructs/**/*.ts'], [
    pattern(FS, 'lib/constructs renders objects; files are written by RekeyApp (lib/project).'),
    pattern(layers('cli', 'rotator'), 'lib/constructs may not import the CLI or the rotator.'),
    pattern(layers('project'), 'lib/constructs may import lib/project for types only (the project layer builds on the constructs).', true),
  ]),
  // project: the offline pull-request loop — never the CLI or the rotator.
  restrict(['lib/project/**/*.ts'], [pattern(layers('cli', 'rotator'), 'lib/project may not import the CLI or the rotator (it bundles the rotator as a file).')]),
];
