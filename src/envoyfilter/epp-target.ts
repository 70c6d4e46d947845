import { ANNOTATIONS } from '../annotations.ts';
import type { InferencePoolRecord, InferencePoolResolver } from '../cluster/inference-pool.ts';
import type { WebhookConfig } from '../config.ts';
import { finding, type Finding } from '../findings.ts';
import { eppServiceReference, type ServiceReference } from './epp-service-reference.ts';
import { inferencePoolReference, POOL_ANNOTATION_AT, type InferencePoolReference } from './inference-pool-reference.ts';

/** The EPP Service an EnvoyFilter is wired to, and the pool that named it (when the inference-pool annotation did). */
export interface EppTarget {
  service: ServiceReference;
  pool: InferencePoolRecord | undefined;
}

/** What the annotations alone say, before any lookup: which pool (if any) and which Service otherwise. */
export type EppChoice =
  | { kind: 'choice'; pool: InferencePoolReference | undefined; service: ServiceReference }
  | { kind: 'problem'; finding: Finding };

/**
 * Precedence: the `inference-pool` annotation (the pool's endpointPickerRef), then the `epp-service` annotation,
 * then the configured default. Both annotations may be given only when they agree (checked once the pool is known).
 */
export function chooseEppTarget(objectNamespace: string, object: unknown, config: WebhookConfig): EppChoice {
  const pool = inferencePoolReference(objectNamespace, object, config);
  if (pool !== 'none' && 'finding' in pool) return { kind: 'problem', finding: pool.finding };
  const service = eppServiceReference(objectNamespace, object, config);
  if ('finding' in service) return { kind: 'problem', finding: service.finding };
  return { kind: 'choice', pool: pool === 'none' ? undefined : pool.reference, service: service.reference };
}

export type PoolResolution =
  | { kind: 'target'; target: EppTarget }
  /** The pool cannot be looked up right now (EPP104: the verdict makes it a temporary denial) or at all (EPP109, EPP110, EPP111). */
  | { kind: 'problem'; finding: Finding };

const NO_POOL_SOURCE = 'no InferencePool source';

/** Follows the chosen pool to its endpointPickerRef Service; without a pool, the chosen Service is the target. */
export function resolvePool(choice: Extract<EppChoice, { kind: 'choice' }>, subject: string, pools: InferencePoolResolver | undefined, config: WebhookConfig): PoolResolution {
  if (choice.pool === undefined) return { kind: 'target', target: { service: choice.service, pool: undefined } };
  const { namespace, name } = choice.pool;
  const pool = `${namespace}/${name}`;
  const problem = (code: 'EPP104' | 'EPP109' | 'EPP110' | 'EPP111', message: string, fix: string): PoolResolution => ({
    kind: 'problem',
    finding: finding(code, config.severities, POOL_ANNOTATION_AT, message, fix),
  });
  const lookup = pools?.lookupPool(namespace, name) ?? { kind: 'not-found' as const };
  if (lookup.kind === 'unavailable') {
    return problem('EPP104', `${ANNOTATIONS.inferencePool} ${pool}: cannot look up the InferencePool for ${subject} right now: ${lookup.reason}. This is temporary; nothing was stored`, 'retry the apply in a few seconds; if it persists, check the webhook pods can list and watch InferencePools (readiness /readyz, RBAC)');
  }
  if (lookup.kind === 'not-found') {
    return problem(
      'EPP109',
      `${ANNOTATIONS.inferencePool} ${pool}: InferencePool not found in ${pools?.source ?? NO_POOL_SOURCE}, so ${subject} has no EPP Service to resolve`,
      `create the InferencePool ${pool} first, or correct the annotation; a pool created a moment ago may take a second to reach the webhook: apply again`,
    );
  }
  const picker = lookup.pool.endpointPicker;
  if (picker === undefined || picker.kind !== 'Service') {
    return problem(
      'EPP110',
      `${ANNOTATIONS.inferencePool} ${pool}: the InferencePool's ${lookup.pool.group === 'inference.networking.k8s.io' ? 'endpointPickerRef' : 'extensionRef'} ${picker === undefined ? 'names no Endpoint Picker' : `names a ${picker.kind}, not a Service`}, so there is no ClusterIP to give ${subject}`,
      'set the pool\'s endpointPickerRef to the EPP Service (kind Service, name, port.number), or use the epp-service annotation instead',
    );
  }
  const service: ServiceReference = { namespace, name: picker.name, origin: 'pool' };
  if (choice.service.origin === 'annotation' && (choice.service.namespace !== namespace || choice.service.name !== picker.name)) {
    return problem(
      'EPP111',
      `${ANNOTATIONS.inferencePool} ${pool} names EPP Service ${namespace}/${picker.name}, but ${ANNOTATIONS.eppService} names ${choice.service.namespace}/${choice.service.name}: one EnvoyFilter, one EPP`,
      `remove ${ANNOTATIONS.eppService} (the pool is the source of truth), or point the pool's endpointPickerRef at ${choice.service.namespace}/${choice.service.name}`,
    );
  }
  return { kind: 'target', target: { service, pool: lookup.pool } };
}
