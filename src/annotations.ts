/** The annotations of the contract in DESIGN.md (prefix `epp-webhook.io/`). */
export const ANNOTATIONS = {
  /** EnvoyFilter, set by users: `[namespace/]name` of the EPP Service. */
  eppService: 'epp-webhook.io/epp-service',
  /** EnvoyFilter, set by users: `[namespace/]name` of the InferencePool whose endpointPickerRef names the EPP Service and port. */
  inferencePool: 'epp-webhook.io/inference-pool',
  /** EnvoyFilter, set by the webhook: the port number that replaced EPP_SERVICE_PORT. */
  resolvedPort: 'epp-webhook.io/resolved-port',
  /** EnvoyFilter, set by the webhook: JSON array of JSON Pointers that held EPP_SERVICE_PORT. */
  portPlaceholderPaths: 'epp-webhook.io/port-placeholder-paths',
  /** EnvoyFilter, set by the webhook: `namespace/name` of the Service it substituted. */
  resolvedService: 'epp-webhook.io/resolved-service',
  /** EnvoyFilter, set by the webhook: the ClusterIP it wrote. */
  resolvedClusterIP: 'epp-webhook.io/resolved-cluster-ip',
  /** EnvoyFilter, set by the webhook: JSON array of JSON Pointers that held the token. */
  placeholderPaths: 'epp-webhook.io/placeholder-paths',
  /** HTTPRoute, set by users: the EnvoyFilter name to reference instead of the configured one. */
  extProcFilter: 'epp-webhook.io/ext-proc-filter',
  /** HTTPRoute, set by users: `"false"` opts the route out of injection. */
  inject: 'epp-webhook.io/inject',
} as const;

export function annotationsOf(object: unknown): Record<string, unknown> {
  if (typeof object !== 'object' || object === null) return {};
  const metadata = (object as { metadata?: unknown }).metadata;
  if (typeof metadata !== 'object' || metadata === null) return {};
  const annotations = (metadata as { annotations?: unknown }).annotations;
  return typeof annotations === 'object' && annotations !== null && !Array.isArray(annotations)
    ? (annotations as Record<string, unknown>)
    : {};
}

/** namespace/name of an object, for messages; `<unnamed>` where absent (generateName). */
export function objectName(object: unknown): { namespace: string; name: string } {
  const metadata = typeof object === 'object' && object !== null ? (object as { metadata?: unknown }).metadata : undefined;
  const m = typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : {};
  return {
    namespace: typeof m.namespace === 'string' ? m.namespace : '',
    name: typeof m.name === 'string' ? m.name : typeof m.generateName === 'string' ? `${m.generateName}<generated>` : '<unnamed>',
  };
}

/**
 * The apiserver refuses an object whose annotations, keys and values together, pass 256 KiB (apimachinery's
 * TotalAnnotationSizeLimitB), but only after the mutating webhooks have run: a longer value still reaches /mutate.
 */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/**
 * An annotation's JSON, or undefined when it is not JSON or too long for any object the apiserver stores. The body's
 * shape limits do not reach inside its strings: 7 MiB of `[],[],...` in kubectl's last-applied annotation made the
 * server parse 2.3 million arrays, and four such requests at once ran deploy/'s heap out of memory.
 */
export function annotationJson(text: string, reviver?: (key: string, value: unknown) => unknown): unknown {
  // A string longer than the limit in UTF-16 units is longer still in the UTF-8 bytes the apiserver counts.
  if (text.length > MAX_ANNOTATIONS_BYTES) return undefined;
  try {
    return JSON.parse(text, reviver);
  } catch {
    return undefined;
  }
}
