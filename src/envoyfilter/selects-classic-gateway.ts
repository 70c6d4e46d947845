import { isObject, type JsonObject } from '../json-value.ts';

/**
 * istiod inserts its filter only on proxies labelled gateway.networking.k8s.io/gateway-name (the Pods of a Gateway API
 * Gateway; pilot/pkg/networking/core/listener_builder.go). A workloadSelector on the `istio` label without that one
 * picks the classic ingress or egress gateway of Istio's charts (`istio: ingressgateway`), which Istio's Gateway
 * deployments do not carry: no istiod filter there to take over.
 */
export function selectsClassicGateway(object: unknown): boolean {
  const labels = workloadSelectorLabels(object);
  return labels !== undefined && Object.hasOwn(labels, 'istio') && !Object.hasOwn(labels, 'gateway.networking.k8s.io/gateway-name');
}

/** `spec.workloadSelector.labels` of an EnvoyFilter, when it has them. */
export function workloadSelectorLabels(object: unknown): JsonObject | undefined {
  const spec = isObject(object) && isObject(object.spec) ? object.spec : undefined;
  const selector = spec !== undefined && isObject(spec.workloadSelector) ? spec.workloadSelector : undefined;
  return selector !== undefined && isObject(selector.labels) ? selector.labels : undefined;
}
