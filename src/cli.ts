#!/usr/bin/env node
// The package's bin: the Node.js version is checked before the command and its libraries load (./main.ts).
import { unsupportedNode } from './node-version.ts';
import { packageJson } from './package-json.ts';

const problem = unsupportedNode(process.versions.node, packageJson().engines?.node);
if (problem !== undefined) {
  process.stderr.write(`epp-webhook: ${problem}\n`);
  process.exit(1);
}
await import('./main.ts');
