import type { EnvoyFilterIndex } from '../cluster/envoyfilter-index.ts';
import type { InferencePoolResolver } from '../cluster/inference-pool.ts';
import type { ServiceResolver } from '../cluster/service-resolver.ts';
import type { WebhookConfig } from '../config.ts';
import type { PatchOperation } from '../copy-on-write.ts';
import { checkEppConnectionPool } from '../destinationrule/check-epp-connection-pool.ts';
import { checkEnvoyFilter } from '../envoyfilter/check-envoyfilter.ts';
import { substituteClusterIP } from '../envoyfilter/substitute-cluster-ip.ts';
import type { EppServices } from '../envoyfilter/talks-to-epp.ts';
import { finding, type Finding } from '../findings.ts';
import { injectExtensionRef, injectionOptedOut } from '../httproute/inject-extension-ref.ts';
import { unresolvedPoolRefs } from '../httproute/unresolved-pool-refs.ts';
import { staleRecordedAddress } from './stale-recorded-address.ts';
import { optedOutRouteKeepsExtensionRefs } from '../httproute/istio-drops-extension-ref.ts';
import { missingEnvoyFilters } from '../httproute/missing-envoyfilter.ts';
import { routeOverridesOfOtherPools } from '../httproute/route-overrides-of-other-pools.ts';
import { formatPath } from '../json-path.ts';
import { beginReadings } from '../read-once.ts';
import type { HandledKind } from './handled-kinds.ts';
import { alignLastApplied, LAST_APPLIED } from './last-applied.ts';
import { MAX_OBJECT_DEPTH, walkedPathBeyondDepth } from './object-depth.ts';

export interface CoreDeps {
  config: WebhookConfig;
  resolver: ServiceResolver;
  /** InferencePools, for the inference-pool annotation; absent: none are known (a pool reference is denied, EPP109). */
  pools?: InferencePoolResolver;
  /** Which EnvoyFilter serves which pool, for HTTPRoute rules; absent: every rule gets the configured ExtensionRef. */
  envoyFilters?: EnvoyFilterIndex;
  /** True when envoyFilters holds every EnvoyFilter of the cluster (serve's watch): a name it lacks is missing (EPP406). */
  envoyFiltersComplete?: boolean;
}

export interface MutationOutcome {
  /** The object as it should be stored; the input itself when nothing changed. */
  object: unknown;
  /** The RFC 6902 patch from the input to `object`, from the mutation's change record; empty when nothing changed. */
  patch: PatchOperation[];
  findings: Finding[];
  substitutions: number;
}

/**
 * What the mutating webhook does to an object of a handled kind, in `namespace` (the request's: on CREATE
 * it is the truth even where the object omits it). The server, the CLI and the e2e all drive this. */
export async function mutateObject(kind: HandledKind, object: unknown, namespace: string, deps: CoreDeps): Promise<MutationOutcome> {
  beginReadings();
  const outcome = await mutateSpec(kind, object, namespace, deps);
  if (outcome.object === object) return outcome;
  // The annotation is the manifest kubectl applied: the same mutation, its own findings already said for the object.
  const aligned = await alignLastApplied(outcome.object, async (lastApplied) => (await mutateSpec(kind, lastApplied, namespace, deps)).object);
  if (aligned === outcome.object) return outcome;
  // The annotation was in the request (it is read from there), so replacing it is a valid op after the mutation's own.
  const text = ((aligned as { metadata: { annotations: Record<string, string> } }).metadata.annotations)[LAST_APPLIED];
  return { ...outcome, object: aligned, patch: [...outcome.patch, { op: 'replace', path: `/metadata/annotations/${LAST_APPLIED.replaceAll('~', '~0').replaceAll('/', '~1')}`, value: text }] };
}

async function mutateSpec(kind: HandledKind, object: unknown, namespace: string, deps: CoreDeps): Promise<MutationOutcome> {
  // Never changed, and read at a few fixed paths by the validation: no depth to bound.
  if (kind === 'DestinationRule') return { object, patch: [], findings: [], substitutions: 0 };
  const tooDeep = depthFinding(kind, object, deps.config);
  if (tooDeep !== undefined) return { object, patch: [], findings: [tooDeep], substitutions: 0 };
  if (kind === 'EnvoyFilter') {
    const substituted = await substituteClusterIP(object, namespace, deps.resolver, deps.config, deps.pools);
    // Nothing to write: what was written before may have gone stale.
    if (substituted.patch.length > 0 || substituted.findings.some((f) => f.severity === 'deny')) return substituted;
    return { ...substituted, findings: [...substituted.findings, ...(await staleRecordedAddress(object, namespace, deps.resolver, deps.config))] };
  }
  const injected = injectExtensionRef(object, deps.config, { namespace, envoyFilters: deps.envoyFilters });
  const missing = deps.envoyFiltersComplete ? missingEnvoyFilters(injected.object, injected.injected, namespace, deps.config, deps.envoyFilters, injected.kept) : [];
  // An opted-out route never calls the mutating webhook (its matchConditions): the validating one says this for it.
  const optedOut = injectionOptedOut(injected.object);
  const otherPools = optedOut ? [] : routeOverridesOfOtherPools(injected.object, namespace, deps.config, deps.envoyFilters);
  const unresolved = optedOut ? [] : unresolvedPoolRefs(injected.object, deps.config);
  return { object: injected.object, patch: injected.patch, findings: [...injected.findings, ...unresolved, ...missing, ...otherPools], substitutions: 0 };
}

/** Where an HTTPRoute or a DestinationRule is judged by the validating webhook: its namespace, the EnvoyFilter index, the pools. */
export interface ObjectContext {
  namespace: string;
  envoyFilters?: EnvoyFilterIndex;
  /** For a DestinationRule: the InferencePools whose EPP Services it may set istiod's clusters of. */
  pools?: InferencePoolResolver;
}

/**
 * What the validating webhook says about the final object; `eppServices` from knownEppServices (the Service cache).
 * For an HTTPRoute opted out of injection (as a route on Istio's own InferencePool support is), which the mutating
 * webhook is never called for, it says whose route override its rules get (EPP409), that an ExtensionRef left
 * in its rules makes Istio drop them (EPP402), and which pool backendRefs no gateway, or not Istio's, resolves
 * (EPP410, EPP411).
 */
export function validateObject(kind: HandledKind, object: unknown, config: WebhookConfig, eppServices?: EppServices, context?: ObjectContext): Finding[] {
  beginReadings();
  // Read at a few fixed paths, never walked: no depth to bound.
  if (kind === 'DestinationRule') return context === undefined ? [] : checkEppConnectionPool(object, context.namespace, config, context.pools);
  const tooDeep = depthFinding(kind, object, config);
  if (tooDeep !== undefined) return [tooDeep];
  if (kind === 'EnvoyFilter') return checkEnvoyFilter(object, config, eppServices);
  if (context === undefined || !injectionOptedOut(object)) return [];
  return [...unresolvedPoolRefs(object, config), ...optedOutRouteKeepsExtensionRefs(object, config), ...routeOverridesOfOtherPools(object, context.namespace, config, context.envoyFilters)];
}

/** An object nested deeper than any real one is refused as malformed before the core walks it (which recurses). */
function depthFinding(kind: HandledKind, object: unknown, config: WebhookConfig): Finding | undefined {
  const beyond = walkedPathBeyondDepth(object, MAX_OBJECT_DEPTH);
  if (beyond === undefined) return undefined;
  const shown = formatPath(beyond.slice(0, 6));
  return finding(
    kind === 'EnvoyFilter' ? 'EPP307' : 'EPP403',
    config.severities,
    { location: 'object', path: shown },
    `nests more than ${MAX_OBJECT_DEPTH} levels deep (from ${shown || 'the root'} on): no ${kind} needs that, and the webhook does not walk it`,
    `flatten the object: ${kind === 'EnvoyFilter' ? 'Envoy configuration nests a few dozen levels at most' : 'the HTTPRoute schema nests about ten levels'}`,
  );
}
