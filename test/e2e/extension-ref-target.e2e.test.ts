/**
 * EPP406 against a real kube-apiserver: the webhook's EnvoyFilter cache (a watch, with deploy/'s RBAC) holds every
 * EnvoyFilter, so it can warn when the ExtensionRef it injects into an HTTPRoute names one that is not there.
 */
import t from 'tap';
import { join } from 'node:path';
import type { ControlPlane } from './harness/control-plane.ts';
import { startClusterWithWebhook } from './harness/webhook-cluster.ts';
import { createNamespace, createService } from './harness/cluster-setup.ts';
import type { WebhookProcess } from './harness/webhook-process.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const EXAMPLE = join(ROOT, 'examples/envoyfilter-placeholder.yaml');
const ROUTE = join(ROOT, 'test/fixtures/manifests/guide-httproute.yaml');
const NS = 'llm-d-inference-scheduler';

let cp: ControlPlane;
let webhook: WebhookProcess;

t.before(async () => {
  ({ cp, webhook } = await startClusterWithWebhook());
  await createNamespace(cp, NS);
  await createService(cp, NS, 'gaie-inference-scheduling-epp', [9002, 9090]);
});
t.teardown(async () => {
  await webhook?.stop();
  await cp?.stop();
});

t.test('an HTTPRoute whose injected ExtensionRef names a missing EnvoyFilter gets EPP406; once it exists, not', async (t) => {
  const dryRun = () => cp.kubectl(['apply', '--dry-run=server', '-f', ROUTE]);
  const missing = await dryRun();
  t.equal(missing.code, 0, 'a warning, not a denial');
  t.match(missing.stderr, `Warning: [EPP406] rules[0] the injected ExtensionRef names EnvoyFilter epp-ext-proc, which is not in namespace ${NS}`);

  const filter = await cp.kubectl(['apply', '-f', EXAMPLE]);
  t.equal(filter.code, 0, filter.stderr);
  // The watch delivers the new EnvoyFilter within moments.
  let present = await dryRun();
  for (let i = 0; i < 50 && present.stderr.includes('EPP406'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    present = await dryRun();
  }
  t.equal(present.code, 0, present.stderr);
  t.notMatch(present.stderr, 'EPP406', 'the example EnvoyFilter has the default extensionRef.name');
});
