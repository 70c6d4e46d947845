import { EXT_PROC_FILTER_NAME } from './ext-proc-configs.ts';

/** How fixes name an InferencePool rule's route, as istiod names it (conversion.go convertHTTPRoute). */
export const INFERENCE_ROUTE_NAME = "<namespace>.<HTTPRoute name>.<rule index> (the rule's name where it has one)";

/**
 * The HTTP_ROUTE patch a fix asks for on each InferencePool route, with `perRoute` as the ExtProcPerRoute's fields,
 * written in YAML's flow style: the entry under istiod's key replaces istiod's override on the route whole.
 */
export function routeOverridePatch(perRoute: string): string {
  return `{applyTo: HTTP_ROUTE, match: {context: GATEWAY, routeConfiguration: {vhost: {route: {name: ${INFERENCE_ROUTE_NAME}}}}}, patch: {operation: MERGE, value: {typed_per_filter_config: {${EXT_PROC_FILTER_NAME}: {"@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute, ${perRoute}}}}}}`;
}
