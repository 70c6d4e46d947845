import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { patchLocation } from './config-patches.ts';
import { extProcFilterPatches, type ExtProcSite } from './ext-proc-configs.ts';
import { workloadSelectorLabels } from './selects-classic-gateway.ts';

const SIDECAR_CONTEXTS: ReadonlySet<unknown> = new Set(['SIDECAR_INBOUND', 'SIDECAR_OUTBOUND']);

/** The workloadSelector label that picks gateway Pods: a Gateway API Gateway's, or one of Istio's charts' gateways. */
export function gatewayLabel(object: unknown): string | undefined {
  const labels = workloadSelectorLabels(object);
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
  for (const patch of extProcFilterPatches(sites)) {
    const context = patch.match.context;
    if (!SIDECAR_CONTEXTS.has(context)) continue;
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
