/**
 * The rotator's entry point: the file esbuild bundles into `rotator.mjs`, run by the rotation
 * Jobs as `node /rotator/rotator.mjs --step <step>` with the plan mounted at
 * `/etc/rekey/plan/plan.json`. Everything else is in `run.ts`.
 *
 * Dependencies of client-node print Node deprecation warnings (punycode, url.parse) on stderr
 * under Node 24, which would break "every line is one JSON object": they are silenced before
 * anything else is loaded (the dynamic import keeps the bundled modules from initialising first).
 *
 * The AWS SDK (the IAM client) reads `~/.aws/config` for its defaults and asks `os.homedir()`
 * when HOME is unset; a rotation pod runs as a UID without a passwd entry, where that throws
 * (`uv_os_homedir returned ENOENT`) and every IAM call fails. Without HOME the rotator sets one
 * that holds no `.aws` folder, so the SDK finds no shared config and uses the explicit settings.
 */
process.noDeprecation = true;
if (!process.env['HOME'] && !process.env['USERPROFILE']) process.env['HOME'] = '/nonexistent';
const { runRotator } = await import('./run.js');

process.exitCode = await runRotator({ argv: process.argv.slice(2), env: process.env });
