#!/usr/bin/env node
// The rekey CLI. Runs the compiled library (npm ci runs `prepare`, which builds it).
import { runCli } from '../build/lib/cli/index.js';

// A closed stdout/stderr (`rekey rotate ... | true`) must not turn a finished command into a
// crash after its work was written: undeliverable output is dropped and the exit code stands.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    const code = e.code;
    if (code !== 'EPIPE' && code !== 'ERR_STREAM_DESTROYED') throw e;
  });
}

const code = await runCli(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});
process.exitCode = code;
