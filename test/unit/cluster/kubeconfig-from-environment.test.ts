import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubeConfigFromEnvironment } from '../../../src/cluster/kubeconfig-from-environment.ts';
import { scratchDir } from '../../helpers/scratch-dir.ts';

const config = (cluster: string, server: string, current?: string) =>
  `apiVersion: v1\nkind: Config\nclusters: [{name: ${cluster}, cluster: {server: "${server}"}}]\nusers: [{name: u-${cluster}, user: {token: t}}]\ncontexts: [{name: ${cluster}, context: {cluster: ${cluster}, user: u-${cluster}}}]\n${current ? `current-context: ${current}\n` : ''}`;

t.test('merged as kubectl merges KUBECONFIG: missing files skipped, the first to set something wins', async (t) => {
  const dir = scratchDir('epp-kubeconfig-env-');
  const [a, b] = [join(dir, 'a'), join(dir, 'b')];
  writeFileSync(a, config('one', 'https://one.example', undefined));
  writeFileSync(b, config('one', 'https://other.example', 'one') + '');
  const merged = kubeConfigFromEnvironment([join(dir, 'missing'), a, b].join(':'));
  t.equal(merged.getCluster('one')?.server, 'https://one.example', 'the first file that names cluster "one" wins');
  t.equal(merged.currentContext, 'one', 'the current context from the first file that sets one');
  t.throws(() => kubeConfigFromEnvironment(join(dir, 'missing')), /none of its files exists/);
});

t.test('a listed file that does not parse is named, not quoted: a kubeconfig holds credentials', async (t) => {
  const dir = scratchDir('epp-kubeconfig-env-');
  const [good, garbage] = [join(dir, 'good'), join(dir, 'garbage')];
  writeFileSync(good, config('one', 'https://one.example', 'one'));
  writeFileSync(garbage, '{token: [sk-secret-token');
  t.throws(() => kubeConfigFromEnvironment([good, garbage].join(':')), { name: 'KubeConfigError', message: new RegExp(`^cannot load kubeconfig ${garbage}: not valid YAML at line 1, column \\d+$`) });
});
