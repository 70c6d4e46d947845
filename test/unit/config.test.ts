import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DEFAULT_CONFIG, loadConfig, parseConfig } from '../../src/config.ts';
import { parse } from 'yaml';
import { scratchDir } from '../helpers/scratch-dir.ts';

t.test('no file gives the defaults', async (t) => {
  const config = loadConfig(undefined);
  t.equal(config.placeholder, 'EPP_SERVICE_CLUSTER_IP');
  t.equal(config.eppService.name, 'gaie-inference-scheduling-epp');
});

t.test("the README's Configuration block is the defaults, every key of them, and loads as a config file", async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = /^## Configuration\n\n```yaml\n([\s\S]*?)```/m.exec(readme)?.[1];
  t.ok(block, 'the block is there');
  t.same(parse(block!), DEFAULT_CONFIG);
  const file = join(scratchDir('epp-webhook-config-'), 'config.yaml');
  writeFileSync(file, block!);
  t.same(loadConfig(file), DEFAULT_CONFIG, 'copied into a file, it is a valid config');
});

t.test('a YAML file overrides only what it names', async (t) => {
  const dir = scratchDir('epp-config-');
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'placeholder: EPP_IP\nextensionRef:\n  name: my-filter\nseverities:\n  EPP402: off\n');
  const config = loadConfig(file);
  t.equal(config.placeholder, 'EPP_IP');
  t.same(config.extensionRef, { group: 'networking.istio.io', kind: 'EnvoyFilter', name: 'my-filter' });
  t.same(config.severities, { EPP402: 'off' });
  t.equal(DEFAULT_CONFIG.extensionRef.name, 'epp-ext-proc', 'defaults are not modified');
});

t.test('a bad key stops with a message naming it', async (t) => {
  t.throws(() => parseConfig({ placeholdr: 'X' }, 'c.yaml'), { name: 'ConfigError', message: /c\.yaml: unknown key 'placeholdr'/ });
  t.throws(() => parseConfig({ eppService: { nam: 'x' } }), /unknown key 'eppService\.nam'/);
  t.throws(() => parseConfig({ severities: { EPP999: 'off' } }), /unknown rule code 'EPP999'/);
  t.throws(() => parseConfig({ severities: { EPP202: 'maybe' } }), /EPP202 must be deny, warn or off/);
  t.throws(() => parseConfig({ severities: { EPP101: 'off' } }), /EPP101 cannot be relaxed/);
  t.throws(() => parseConfig({ allowedServiceNamespaces: 'ns' }), /must be a list/);
  t.throws(() => parseConfig({ maxRequestBytes: 12.5 }), /maxRequestBytes/);
  t.throws(() => parseConfig({ maxRequestBytesInFlight: 1023 }), /maxRequestBytesInFlight must be a whole number of bytes, at least 1024 \(got 1023\)/);
  t.throws(() => parseConfig({ maxConnections: 0 }), /maxConnections must be a whole number of connections, at least 1 \(got 0\)/);
  t.throws(() => parseConfig({ maxConnections: '500' }), /maxConnections must be a whole number/);
  t.throws(() => parseConfig([1, 2]), ConfigError);
  t.throws(() => parseConfig({ istioRootNamespace: '' }), /istioRootNamespace/);
});

t.test('the limits on what clients hold take whole numbers', async (t) => {
  const config = parseConfig({ maxRequestBytesInFlight: 4096, maxConnections: 20 });
  t.equal(config.maxRequestBytesInFlight, 4096);
  t.equal(config.maxConnections, 20);
  t.equal(parseConfig({}).maxConnections, 500, 'default');
});

t.test('an unreadable or broken file says which file', async (t) => {
  t.throws(() => loadConfig('/nonexistent/epp.yaml'), /cannot read config file \/nonexistent\/epp\.yaml/);
  const dir = scratchDir('epp-config-');
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'placeholder: [unclosed\n');
  t.throws(() => loadConfig(file), /bad\.yaml is not valid YAML/);
});

t.test('a placeholder that could occur inside an IP address is refused', async (t) => {
  for (const token of ['1', 'a', 'abc', 'ABC', 'fd00', '10.96', 'EPP IP', 'EPP-IP', '']) {
    t.throws(() => parseConfig({ placeholder: token }), /placeholder/, JSON.stringify(token));
  }
  for (const token of ['EPP_IP', 'EPP_SERVICE_CLUSTER_IP', 'XYZ', '_ab']) t.equal(parseConfig({ placeholder: token }).placeholder, token);
});
