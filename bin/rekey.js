#!/usr/bin/env node
// The rekey CLI. Runs the compiled library (npm ci runs `prepare`, which builds it).
import { runCli } from '../build/lib/cli/index.js';

const code = await runCli(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});
process.exitCode = code;
