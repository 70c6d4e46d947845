/**
 * `npm run cluster -- --dataplane`: the whole guide's path for a person, no Docker: kube-apiserver, the webhook with
 * its reconciler, istiod, Envoy as the gateway, the real EPP and two model-server stand-ins; applies the placeholder
 * EnvoyFilter and the HTTPRoute with kubectl, and prints a curl that sends a completion through the gateway.
 * Ctrl-C tears it all down.
 */
import { startDataPlane } from './harness/dataplane.ts';
import { applyGuide } from './harness/guide-manifests.ts';

const plane = await startDataPlane();
try {
  if (!process.argv.includes('--no-guide')) await applyGuide(plane);
} catch (error) {
  await plane.stop();
  throw error;
}
process.stdout.write(
  [
    `apiserver: ${plane.cp.server} (logs in ${plane.cp.dir}: istiod.log, envoy.log, epp-*.log, webhook-*.log)`,
    `envoy admin: ${plane.envoy.adminUrl}   istiod debug: ${plane.istiod.debugUrl}/debug`,
    `model servers: ${plane.models.map((m) => `${m.name} ${m.host}:${m.port}`).join(', ')}`,
    '',
    `export KUBECONFIG=${plane.cp.kubeconfig}`,
    `alias kubectl=${plane.cp.binaries.kubectl}`,
    '',
    'A completion through the gateway, routed by the EPP (the answer names the Pod):',
    `  curl -s ${plane.gatewayUrl}/v1/completions -H 'content-type: application/json' -d '{"model":"sim","prompt":"Say hi","max_tokens":5}'`,
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);
await new Promise<void>((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
});
await plane.stop();
process.exit(0);
