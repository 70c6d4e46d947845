import type { ServiceResolver } from '../cluster/service-resolver.ts';
import { ANNOTATIONS, annotationsOf } from '../annotations.ts';
import { mayReferenceNamespace, type WebhookConfig } from '../config.ts';
import { finding, type Finding } from '../findings.ts';
import { isObject } from '../json-value.ts';
import { decideReconcile, recordedService } from '../reconcile/decide-reconcile.ts';
import { provenanceOf, toEnvoyFilterRecord } from '../reconcile/envoyfilter-record.ts';

/**
 * EPP116: an EnvoyFilter the webhook substituted earlier, admitted again without its placeholder (a `kubectl edit` or
 * `label` of the live object, or `epp-webhook check` of what `kubectl get` printed), whose recorded paths still hold
 * an address or port the Service it names no longer has: the Service was recreated (or its port changed) since. What
 * the reconciler would rewrite (decideReconcile) is what is stale; a path edited by hand since is the operator's. An
 * EnvoyFilter of an InferencePool is left out: the reconciler follows its pool first, which may name another Service.
 */
export async function staleRecordedAddress(object: unknown, namespace: string, resolver: ServiceResolver, config: WebhookConfig): Promise<Finding[]> {
  // Most EnvoyFilters carry no provenance: read the annotations before walking the object for a placeholder.
  if (!isObject(object) || !isObject(object.metadata) || provenanceOf(object) === undefined) return [];
  // A pool's EnvoyFilter follows the pool first (the reconciler's decideRepoint; EPP114 at admission): not judged here.
  if (annotationsOf(object)[ANNOTATIONS.inferencePool] !== undefined) return [];
  const record = toEnvoyFilterRecord({ ...object, metadata: { ...object.metadata, namespace } }, config.placeholder);
  const service = record === undefined ? undefined : recordedService(record);
  // Another namespace's Service is looked up only where the object may reference it: its ClusterIP, even its
  // existence, is not told otherwise (the reconciler does not follow it either).
  if (record === undefined || service === undefined || record.hasPlaceholder || !mayReferenceNamespace(config, namespace, service.namespace)) return [];
  const decision = decideReconcile(record, await resolver.lookup(service.namespace, service.name));
  const fix = `serve --reconcile (on in deploy/) rewrites the recorded paths within seconds of the change; without it, apply the manifest with its ${config.placeholder} placeholder again`;
  if (decision.kind === 'rewrite') {
    return [
      finding(
        'EPP116',
        config.severities,
        { location: 'metadata.annotations', path: 'metadata.annotations' },
        `Service ${decision.service} changed since the webhook wrote its address here (${decision.change}): ${decision.rewrittenPaths.join(', ')} still hold${decision.rewrittenPaths.length === 1 ? 's' : ''} ${decision.held}, where the EPP no longer is`,
        fix,
      ),
    ];
  }
  // check without a Service table or cluster cannot tell a Service gone from one it was not given.
  if (decision.kind === 'service-missing' && resolver.fixes?.noServiceSource !== true) {
    return [
      finding(
        'EPP116',
        config.severities,
        { location: 'metadata.annotations', path: 'metadata.annotations' },
        `${decision.why}: the address the webhook wrote here from it (epp-webhook.io/resolved-service ${decision.service}) leads to no EPP Service`,
        `recreate Service ${decision.service} (serve --reconcile then rewrites the address), or apply the manifest with its ${config.placeholder} placeholder again, naming the EPP Service that replaced it`,
      ),
    ];
  }
  return [];
}
