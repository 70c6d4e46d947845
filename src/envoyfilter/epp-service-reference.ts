import { ANNOTATIONS, annotationsOf } from '../annotations.ts';
import { mayReferenceNamespace, type WebhookConfig } from '../config.ts';
import { finding, type Finding } from '../findings.ts';

export interface ServiceReference {
  namespace: string;
  name: string;
  /** Where the reference came from, for messages. */
  origin: 'annotation' | 'config' | 'pool';
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ANNOTATION_AT = { location: 'metadata.annotations', path: `metadata.annotations["${ANNOTATIONS.eppService}"]` };

/**
 * Which Service's ClusterIP replaces the token: the epp-service annotation, else the configured default.
 * A reference into another namespace by annotation is refused unless the operator allowed that namespace:
 * a tenant must not point its gateway at another team's Service.
 */
export function eppServiceReference(
  objectNamespace: string,
  object: unknown,
  config: WebhookConfig,
): { reference: ServiceReference } | { finding: Finding } {
  return serviceReferenceOf(annotationsOf(object)[ANNOTATIONS.eppService], objectNamespace, config);
}

/** eppServiceReference from the annotation's value (undefined when the object has none). */
export function serviceReferenceOf(annotation: unknown, objectNamespace: string, config: WebhookConfig): { reference: ServiceReference } | { finding: Finding } {
  if (annotation === undefined) {
    return {
      reference: { namespace: config.eppService.namespace || objectNamespace, name: config.eppService.name, origin: 'config' },
    };
  }
  const parts = typeof annotation === 'string' ? annotation.split('/') : [];
  const [namespace, name] = parts.length === 2 ? parts : [objectNamespace, parts[0]];
  if (parts.length < 1 || parts.length > 2 || !DNS_LABEL.test(name ?? '') || !DNS_LABEL.test(namespace ?? '')) {
    return {
      finding: finding(
        'EPP107',
        config.severities,
        ANNOTATION_AT,
        `${ANNOTATIONS.eppService} ${JSON.stringify(annotation)}: not a Service reference`,
        `write [namespace/]name of the EPP Service, e.g. "gaie-inference-scheduling-epp" or "llm-d/gaie-inference-scheduling-epp"`,
      ),
    };
  }
  if (!mayReferenceNamespace(config, objectNamespace, namespace)) {
    return {
      finding: finding(
        'EPP103',
        config.severities,
        ANNOTATION_AT,
        `${ANNOTATIONS.eppService} ${namespace}/${name}: EnvoyFilters in namespace ${objectNamespace} may not reference Services in namespace ${namespace}`,
        `reference an EPP Service in ${objectNamespace}, or have the webhook operator add ${namespace} to allowedServiceNamespaces`,
      ),
    };
  }
  return { reference: { namespace, name, origin: 'annotation' } };
}
