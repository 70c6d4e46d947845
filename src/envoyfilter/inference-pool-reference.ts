import { ANNOTATIONS, annotationsOf } from '../annotations.ts';
import { mayReferenceNamespace, type WebhookConfig } from '../config.ts';
import { finding, type Finding } from '../findings.ts';

export interface InferencePoolReference {
  namespace: string;
  name: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
export const POOL_ANNOTATION_AT = { location: 'metadata.annotations', path: `metadata.annotations["${ANNOTATIONS.inferencePool}"]` };

/** `[namespace/]name` of the annotation, relative to `objectNamespace`; undefined when it is not a pool reference. */
export function parseInferencePoolAnnotation(value: unknown, objectNamespace: string): InferencePoolReference | undefined {
  if (typeof value !== 'string') return undefined;
  const parts = value.split('/');
  if (parts.length > 2) return undefined;
  const [namespace, name] = parts.length === 2 ? parts : [objectNamespace, parts[0]];
  return DNS_LABEL.test(namespace) && DNS_SUBDOMAIN.test(name) ? { namespace, name } : undefined;
}

/**
 * The InferencePool an EnvoyFilter's `epp-webhook.io/inference-pool` annotation names; `none` without the annotation.
 * Another namespace is refused unless the operator allowed it, as for the epp-service annotation (EPP103).
 */
export function inferencePoolReference(
  objectNamespace: string,
  object: unknown,
  config: WebhookConfig,
): { reference: InferencePoolReference } | { finding: Finding } | 'none' {
  const annotation = annotationsOf(object)[ANNOTATIONS.inferencePool];
  if (annotation === undefined) return 'none';
  const reference = parseInferencePoolAnnotation(annotation, objectNamespace);
  if (reference === undefined) {
    return {
      finding: finding(
        'EPP108',
        config.severities,
        POOL_ANNOTATION_AT,
        `${ANNOTATIONS.inferencePool} ${JSON.stringify(annotation)}: not an InferencePool reference`,
        'write [namespace/]name of the InferencePool whose endpointPickerRef names the EPP, e.g. "llama-pool" or "llm-d/llama-pool"',
      ),
    };
  }
  if (!mayReferenceNamespace(config, objectNamespace, reference.namespace)) {
    return {
      finding: finding(
        'EPP103',
        config.severities,
        POOL_ANNOTATION_AT,
        `${ANNOTATIONS.inferencePool} ${reference.namespace}/${reference.name}: EnvoyFilters in namespace ${objectNamespace} may not reference InferencePools (and their EPP Services) in namespace ${reference.namespace}`,
        `reference an InferencePool in ${objectNamespace}, or have the webhook operator add ${reference.namespace} to allowedServiceNamespaces`,
      ),
    };
  }
  return { reference };
}
