/**
 * The rotator's entry point: the file esbuild bundles into `rotator.mjs`, run by the rotation
 * Jobs as `node /rotator/rotator.mjs --step <step>` with the plan mounted at
 * `/etc/rekey/plan/plan.json`. Everything else is in `run.ts`.
 */
import { runRotator } from './run.js';

process.exitCode = await runRotator({ argv: process.argv.slice(2), env: process.env });
