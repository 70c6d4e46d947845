/**
 * What `kubectl apply -k` would send, for the base and every overlay, rendered by the real kubectl (kustomize built
 * in) and checked against the choices the README explains: the webhook configurations, the restricted Pod Security
 * Standard, probes and shutdown, least-privilege RBAC, the certificate wiring of each overlay. The checks are the
 * ones the Helm chart's renderings pass too (harness/manifest-checks.ts; helm-chart.e2e.test.ts). No API server
 * here: deploy.e2e.test.ts sends the same renderings to one.
 */
import t from 'tap';
import { scratchDir } from '../helpers/scratch-dir.ts';
import { execFile } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KUSTOMIZATIONS, renderKustomization, type KustomizationName, type RenderedKustomization } from './harness/kustomize.ts';
import {
  checkArgumentsAccepted,
  checkCaBundleLeftToTheInstaller,
  checkCertManagerWiring,
  checkDeployment,
  checkRestrictedPodSecurity,
  checkSelfSignedBootstrap,
  checkWebhookConfigurations,
  checkWebhookRbac,
  findObject,
} from './harness/manifest-checks.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const NAMES = Object.keys(KUSTOMIZATIONS) as KustomizationName[];

const rendered = new Map<KustomizationName, RenderedKustomization>();
t.before(async () => {
  for (const name of NAMES) rendered.set(name, await renderKustomization(name));
});
const get = (name: KustomizationName) => rendered.get(name)!;

for (const name of NAMES) {
  t.test(`${name}: the webhook configurations carry the documented choices`, async (t) => checkWebhookConfigurations(t, get(name)));

  t.test(`${name}: every pod meets the restricted Pod Security Standard`, async (t) => {
    const namespace = findObject(get(name), 'Namespace', 'epp-webhook');
    t.equal(namespace.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted', 'the namespace enforces it, for anything else deployed there too');
    checkRestrictedPodSecurity(t, get(name));
  });

  t.test(`${name}: the webhook Deployment probes, shuts down gracefully and mounts what it reads`, async (t) =>
    // A generated, content-hashed ConfigMap: a config edit rolls the pods.
    checkDeployment(t, get(name), { replicas: 2, configMapName: /^epp-webhook-config-[a-z0-9]+$/ }),
  );

  t.test(`${name}: the webhook's identity has least-privilege RBAC`, async (t) => checkWebhookRbac(t, get(name), { reconciler: true }));
}

t.test('base and self-signed leave caBundle to the bootstrap; cert-manager has cainjector fill it', async (t) => {
  checkCaBundleLeftToTheInstaller(t, get('base'));
  checkCaBundleLeftToTheInstaller(t, get('self-signed'));
  checkCertManagerWiring(t, get('cert-manager'));
});

t.test('self-signed: a Job and a weekly CronJob run bootstrap-certs with least privilege', async (t) => checkSelfSignedBootstrap(t, get('self-signed')));

t.test('the arguments in the manifests are ones the CLI accepts', async (t) => checkArgumentsAccepted(t, get('self-signed')));

t.test('the image holds what the manifests run: Dockerfile COPY set + production dependencies', async (t) => {
  // Docker cannot run here. This rebuilds the image's /app the way deploy/Dockerfile does (its COPY sources, then
  // `npm ci --omit=dev --ignore-scripts`) and runs the commands of the manifests there: a devDependency imported
  // at runtime, or a source the Dockerfile forgets to copy, fails this.
  const dockerfile = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
  const sources = [...dockerfile.matchAll(/^COPY\s+(?!--from)(?:--\S+\s+)*(.+?)\s+\S+\s*$/gm)].flatMap((m) => m[1].split(/\s+/));
  t.same([...new Set(sources)].sort(), ['package-lock.json', 'package.json', 'src'], 'the Dockerfile copies package files and src only');
  const app = scratchDir('epp-webhook-image-');
  for (const source of new Set(sources)) cpSync(join(ROOT, source), join(app, source), { recursive: true });
  const npm = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) =>
      resolve({ code: error ? 1 : 0, stderr }),
    ),
  );
  t.equal(npm.code, 0, `npm ci --omit=dev: ${npm.stderr}`);
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, ['src/main.ts', ...args], { cwd: app, env: { ...process.env, NODE_ENV: 'production' } }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as any).code ?? 1) : 0, stdout, stderr }),
      ),
    );
  for (const command of ['serve', 'bootstrap-certs']) {
    const result = await run([command, '--help']);
    t.equal(result.code, 0, `${command} --help in the image: ${result.stderr}`);
  }
  // bootstrap-certs loads client-node lazily: make it load (an unreachable API server fails after the import).
  const bootstrap = await run(['bootstrap-certs', '--kubeconfig', '/nonexistent']);
  t.match(bootstrap.stderr, /cannot load kubeconfig/, 'client-node imported from production dependencies');
  t.notOk(bootstrap.stderr.includes('ERR_MODULE_NOT_FOUND'));
});
