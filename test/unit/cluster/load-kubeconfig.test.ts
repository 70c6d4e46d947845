import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadKubeConfig } from '../../../src/cluster/load-kubeconfig.ts';
import { scratchDir } from '../../helpers/scratch-dir.ts';

const config = (server: string) =>
  `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${server}"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`;

t.test('KUBECONFIG is read as kubectl and check read it: a missing file in the list is skipped, not fatal', async (t) => {
  const dir = scratchDir('epp-load-kubeconfig-');
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, config('https://from-the-list.example'));
  t.equal(loadKubeConfig(undefined, `${join(dir, 'missing')}:${file}`).getCurrentCluster()?.server, 'https://from-the-list.example');
  t.throws(() => loadKubeConfig(undefined, join(dir, 'missing')), { name: 'KubeConfigError', message: `KUBECONFIG=${join(dir, 'missing')}: none of its files exists` });
});

t.test('--kubeconfig wins over KUBECONFIG, and a missing one is named', async (t) => {
  const dir = scratchDir('epp-load-kubeconfig-');
  const [flag, variable] = [join(dir, 'flag'), join(dir, 'variable')];
  writeFileSync(flag, config('https://flag.example'));
  writeFileSync(variable, config('https://variable.example'));
  t.equal(loadKubeConfig(flag, variable).getCurrentCluster()?.server, 'https://flag.example');
  t.throws(() => loadKubeConfig(join(dir, 'missing'), variable), { name: 'KubeConfigError', message: new RegExp(`^cannot load kubeconfig ${join(dir, 'missing')}: ENOENT`) });
});

t.test('a kubeconfig with contexts but no current one is refused as kubectl refuses it, naming the file', async (t) => {
  const dir = scratchDir('epp-load-kubeconfig-');
  const file = join(dir, 'no-current');
  writeFileSync(file, config('https://x.example').replace('current-context: c\n', ''));
  t.throws(() => loadKubeConfig(file, undefined), { name: 'KubeConfigError', message: `kubeconfig ${file} has no current context naming a cluster: set one (kubectl config use-context NAME)` });
  t.throws(() => loadKubeConfig(undefined, file), { name: 'KubeConfigError', message: `kubeconfig KUBECONFIG=${file} has no current context naming a cluster: set one (kubectl config use-context NAME)` });
});
