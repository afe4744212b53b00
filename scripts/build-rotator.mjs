#!/usr/bin/env node
// Writes the prebuilt rotator bundle that npm users' synthesis reads (no esbuild needed there):
//   build/rotator/rotator.mjs.gz    the deterministic gzipped bundle (what the ConfigMap carries)
//   build/rotator/rotator.json      its sha256 and sizes, for review
// Run after `tsc -p tsconfig.build.json` (npm run build / prepare): it uses the compiled
// lib/project/rotator-bundle.js, so the options live in one place.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { buildRotatorBundle, PREBUILT_ROTATOR_BUNDLE } = await import(new URL('../build/lib/project/rotator-bundle.js', import.meta.url).href);

try {
  const { bundle, packages } = buildRotatorBundle(root);
  const file = join(root, PREBUILT_ROTATOR_BUNDLE);
  mkdirSync(dirname(file), { recursive: true });
  writeAtomically(file, bundle.gzip);
  const info = { sha256: bundle.sha256, rawBytes: bundle.rawBytes, gzipBytes: bundle.gzipBytes, packages };
  writeAtomically(join(dirname(file), 'rotator.json'), JSON.stringify(info, null, 2) + '\n');
  console.log(`rotator bundle: ${bundle.rawBytes} bytes, ${bundle.gzipBytes} gzipped, sha256 ${bundle.sha256} → ${PREBUILT_ROTATOR_BUNDLE}`);
} catch (e) {
  console.error(`build-rotator: error: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(e && typeof e === 'object' && 'exitCode' in e ? e.exitCode : 3);
}

function writeAtomically(file, data) {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
