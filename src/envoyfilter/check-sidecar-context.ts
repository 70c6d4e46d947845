import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { isObject } from '../json-value.ts';
import { patchLocation } from './config-patches.ts';
import type { ExtProcSite } from './ext-proc-configs.ts';

const SIDECAR_CONTEXTS: ReadonlySet<unknown> = new Set(['SIDECAR_INBOUND', 'SIDECAR_OUTBOUND']);

/** The workloadSelector label that picks gateway Pods: a Gateway API Gateway's, or one of Istio's charts' gateways. */
export function gatewayLabel(object: unknown): string | undefined {
  const spec = isObject(object) && isObject(object.spec) ? object.spec : undefined;
  const selector = spec !== undefined && isObject(spec.workloadSelector) ? spec.workloadSelector : undefined;
  const labels = selector !== undefined && isObject(selector.labels) ? selector.labels : undefined;
  if (labels === undefined) return undefined;
  const name = labels['gateway.networking.k8s.io/gateway-name'];
  if (typeof name === 'string') return `gateway.networking.k8s.io/gateway-name: ${name}`;
  const istio = labels.istio;
  return typeof istio === 'string' && istio.endsWith('gateway') ? `istio: ${istio}` : undefined;
}

/**
 * An ext_proc filter patched in with a sidecar context on an EnvoyFilter that selects a gateway: istiod applies a patch
 * to a proxy only when its context is the proxy's own or ANY (listener_patch.go patchContextMatch), and a gateway's is
 * GATEWAY. The filter is never inserted, and nothing says so. Measured: EPP232-sidecar-context in test/dataplane.
 */
export function checkSidecarContext(object: unknown, sites: readonly ExtProcSite[], severities: SeverityOverrides): Finding[] {
  const label = gatewayLabel(object);
  if (label === undefined) return [];
  const findings: Finding[] = [];
  const reported = new Set<number>();
  for (const { kind, patch } of sites) {
    const context = patch.match.context;
    if (kind !== 'filter' || patch.applyTo !== 'HTTP_FILTER' || !SIDECAR_CONTEXTS.has(context) || reported.has(patch.index)) continue;
    reported.add(patch.index);
    findings.push(
      finding(
        'EPP232',
        severities,
        { location: patchLocation(patch.index), path: formatPath(['spec', 'configPatches', patch.index, 'match', 'context']) },
        `context ${String(context)} matches no gateway proxy (istiod patches a gateway only with context GATEWAY or ANY), and the workloadSelector picks gateway Pods (${label}): the ext_proc filter is never inserted, and its ext_proc server is never consulted`,
        'write match.context: GATEWAY',
      ),
    );
  }
  return findings;
}
