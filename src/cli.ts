#!/usr/bin/env node
// The package's bin: the Node.js version is checked before the command and its libraries load (./main.ts).
import { readFileSync } from 'node:fs';
import { unsupportedNode } from './node-version.ts';

/** package.json sits one level above both src/ and its build, dist/. */
const { engines } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines?: { node?: string } };
const problem = unsupportedNode(process.versions.node, engines?.node);
if (problem !== undefined) {
  process.stderr.write(`epp-webhook: ${problem}\n`);
  process.exit(1);
}
await import('./main.ts');
