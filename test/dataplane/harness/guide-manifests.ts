/** The guide's manifests, applied with the real kubectl as a person would. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { KubectlResult } from '../../e2e/harness/control-plane.ts';
import { NS, POOL, type DataPlane } from './dataplane.ts';
import { clusterNames, waitForPush, xdsCounters } from './envoy-config.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
export const fixture = (name: string) => readFileSync(join(ROOT, 'test/fixtures/manifests', name), 'utf8');
/** The repository's example EnvoyFilter (examples/envoyfilter-placeholder.yaml): the guide as it routes under Istio with InferencePool support. */
export const exampleEnvoyFilter = () => readFileSync(join(ROOT, 'examples/envoyfilter-placeholder.yaml'), 'utf8');

/** The fixture EnvoyFilter every working scenario starts from (placeholder ClusterIP, FULL_DUPLEX_STREAMED). */
export function baseEnvoyFilter(): any {
  return parse(fixture('full-duplex-envoyfilter.yaml'));
}

/** An HTTPRoute from the Gateway to the InferencePool; `inject: false` keeps the webhook's ExtensionRef out; `ruleName` names its rule. */
export function poolRoute(options: { name?: string; inject?: boolean; path?: string; ruleName?: string } = {}): any {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: options.name ?? 'llm-d-inference-scheduling', namespace: NS, ...(options.inject === false ? { annotations: { 'epp-webhook.io/inject': 'false' } } : {}) },
    spec: {
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'infra-inference-scheduling-inference-gateway' }],
      rules: [{ ...(options.ruleName === undefined ? {} : { name: options.ruleName }), matches: [{ path: { type: 'PathPrefix', value: options.path ?? '/v1' } }], backendRefs: [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: POOL }] }],
    },
  };
}

export function apply(plane: DataPlane, object: unknown): Promise<KubectlResult> {
  return plane.cp.kubectl(['apply', '-f', '-'], { input: typeof object === 'string' ? object : stringify(object) });
}

/** Applies with kubectl and waits until istiod has pushed the result and Envoy took it (a cluster named `marker` if given). */
export async function applyAndWait(plane: DataPlane, object: unknown, marker?: string): Promise<KubectlResult> {
  const before = await xdsCounters(plane.envoy);
  const result = await apply(plane, object);
  if (result.code !== 0) return result;
  await waitForPush(plane.envoy, before, async () => (marker === undefined ? true : (await clusterNames(plane.envoy)).includes(marker)));
  return result;
}

/** The guide's flow: an HTTPRoute to the InferencePool and the placeholder EnvoyFilter. */
export async function applyGuide(plane: DataPlane): Promise<KubectlResult[]> {
  const route = await applyAndWait(plane, poolRoute({ inject: false }));
  const envoyFilter = await applyAndWait(plane, exampleEnvoyFilter(), 'epp-cluster');
  return [route, envoyFilter];
}
