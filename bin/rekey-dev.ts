// Runs the rekey CLI from the TypeScript sources (no build step): `npm run rekey -- status`.
import { runCli } from '../lib/cli/index.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});
