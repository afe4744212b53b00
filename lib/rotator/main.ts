/**
 * The rotator's entry point: the file esbuild bundles into `rotator.mjs`, run by the rotation
 * Jobs as `node /rotator/rotator.mjs --step <step>` with the plan mounted at
 * `/etc/rekey/plan/plan.json`. Everything else is in `run.ts`.
 *
 * Dependencies of client-node print Node deprecation warnings (punycode, url.parse) on stderr
 * under Node 24, which would break "every line is one JSON object": they are silenced before
 * anything else is loaded (the dynamic import keeps the bundled modules from initialising first).
 */
process.noDeprecation = true;
const { runRotator } = await import('./run.js');

process.exitCode = await runRotator({ argv: process.argv.slice(2), env: process.env });
