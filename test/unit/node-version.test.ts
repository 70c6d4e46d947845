import t from 'tap';
import { readFileSync } from 'node:fs';
import { unsupportedNode } from '../../src/node-version.ts';

const { engines } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };

t.test("package.json's engines decide which Node.js runs the CLI", async (t) => {
  t.equal(engines.node, '>=22.19.0', 'the range the check reads');
  for (const version of ['22.19.0', '22.20.1', '23.0.0', '24.21.0', 'v24.21.0']) t.equal(unsupportedNode(version, engines.node), undefined, version);
  for (const version of ['20.20.2', '22.18.9', '22.9.0', '18.0.0']) {
    t.equal(unsupportedNode(version, engines.node), `needs Node.js 22.19.0 or later (this is ${version}); install a current LTS, e.g. Node.js 24`, version);
  }
  t.equal(unsupportedNode(process.versions.node, engines.node), undefined, 'the Node.js the tests run on');
  t.equal(unsupportedNode('20.0.0', '^22 || ^24'), undefined, 'a range this does not read is not a reason to refuse');
});
