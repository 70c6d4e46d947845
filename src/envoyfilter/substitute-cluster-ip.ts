import { ANNOTATIONS, annotationJson, annotationsOf, objectName } from '../annotations.ts';
import type { ServiceLookup, ServiceRecord, ServiceResolver } from '../cluster/service-resolver.ts';
import type { WebhookConfig } from '../config.ts';
import { CopyOnWrite, type PatchOperation } from '../copy-on-write.ts';
import { finding, type Finding } from '../findings.ts';
import { fromJsonPointer, formatPath, toJsonPointer, valueAtSegments } from '../json-path.ts';
import { isObject, type JsonObject } from '../json-value.ts';
import { patchLocation, readConfigPatches } from './config-patches.ts';
import type { InferencePoolResolver } from '../cluster/inference-pool.ts';
import { replaceToken } from './address-in-text.ts';
import { checkPoolConsistency } from './check-pool-consistency.ts';
import { EXT_PROC_PORT_NAME, eppServicePort, PORT_PLACEHOLDER } from './epp-service-port.ts';
import { holdsPort } from './port-in-text.ts';
import { chooseEppTarget, resolvePool, type EppTarget } from './epp-target.ts';
import { findEachPlaceholder, findPlaceholders, type PlaceholderSite } from './find-placeholders.ts';
import { MAX_PLACEHOLDER_TOKENS, placeholderBudgetProblem } from './placeholder-budget.ts';

export interface SubstitutionResult {
  /** The object to store: the input itself when nothing changed, else a copy sharing every unchanged part with it (read-only). */
  object: unknown;
  /** The RFC 6902 patch from the input to `object`, read off the copy's change record; empty when nothing changed. */
  patch: PatchOperation[];
  findings: Finding[];
  /** How many tokens were replaced (ClusterIP and port). */
  substitutions: number;
}

/**
 * Replaces the placeholder tokens in every string of `spec.configPatches[*].patch.value`: EPP_SERVICE_CLUSTER_IP with
 * the live ClusterIP of the EPP Service, EPP_SERVICE_PORT with its port, and records where it did so, so a later
 * reconcile can redo it. The EPP Service is the one the InferencePool of `epp-webhook.io/inference-pool` names,
 * else the `epp-service` annotation's, else the configured default; an EnvoyFilter wired to a pool must agree with it.
 */
export async function substituteClusterIP(
  object: unknown,
  objectNamespace: string,
  resolver: ServiceResolver,
  config: WebhookConfig,
  pools?: InferencePoolResolver,
): Promise<SubstitutionResult> {
  const unchanged = (findings: Finding[]): SubstitutionResult => ({ object, patch: [], findings, substitutions: 0 });
  const { patches, findings: shapeFindings } = readConfigPatches(object, config.severities);
  if (shapeFindings.length > 0) return unchanged(shapeFindings);
  const [sites, portSites] = findEachPlaceholder(patches, [config.placeholder, PORT_PLACEHOLDER], MAX_PLACEHOLDER_TOKENS);
  const tokens = sites.length + portSites.length;
  if (tokens === 0 && annotationsOf(object)[ANNOTATIONS.inferencePool] === undefined) return unchanged([]);

  const subject = `EnvoyFilter ${objectNamespace}/${objectName(object).name}`;
  const overBudget = placeholderBudgetProblem(sites, portSites, subject, config);
  if (overBudget) return unchanged([overBudget]);
  const choice = chooseEppTarget(objectNamespace, object, config);
  if (choice.kind === 'problem') return unchanged([choice.finding]);
  const resolution = resolvePool(choice, subject, pools, config);
  if (resolution.kind === 'problem') {
    // Without a token there is nothing to resolve: only annotations that contradict each other are a denial then.
    return unchanged(tokens > 0 || resolution.finding.code === 'EPP111' ? [resolution.finding] : []);
  }
  const target = resolution.target;
  const lookup = await resolver.lookup(target.service.namespace, target.service.name);

  if (tokens === 0) {
    // Already substituted (or written by hand): what it connects to must still agree with the pool.
    if (lookup.kind !== 'found' || withoutClusterIP(lookup.service) !== undefined || target.pool === undefined) return unchanged([]);
    const addressSites = findPlaceholders(patches, lookup.service.clusterIP).filter((site) => holdsAddress(object, site, lookup.service.clusterIP));
    return unchanged(checkPoolConsistency(object, patches, addressSites, target.pool, lookup.service, config));
  }
  const firstSite = sites[0] ?? portSites[0];
  const problem = lookupProblem(lookup, target, subject, resolver, firstSite, config);
  if (problem) return unchanged([problem]);
  const service = (lookup as { service: ServiceRecord }).service;

  let port: number | undefined;
  if (portSites.length > 0) {
    const resolved = eppServicePort(target, service);
    if ('why' in resolved) {
      const at = { location: patchLocation(portSites[0].patchIndex), path: formatPath(portSites[0].segments) };
      return unchanged([
        finding(
          'EPP112',
          config.severities,
          at,
          `${PORT_PLACEHOLDER}: ${resolved.why}, so ${subject} gets no port number`,
          target.pool !== undefined
            ? `give the pool's endpointPickerRef a port.number, or write the port number instead of ${PORT_PLACEHOLDER}`
            : service.ports.length === 0 && resolver.fixes?.unknownPorts !== undefined
              ? resolver.fixes.unknownPorts(`${service.namespace}/${service.name}`)
              : `name the EPP's ext_proc port ${EXT_PROC_PORT_NAME} in the Service, or write the port number instead of ${PORT_PLACEHOLDER}`,
        ),
      ]);
    }
    port = resolved.port;
  }

  const copy = new CopyOnWrite(object as JsonObject);
  for (const site of sites) replaceAt(copy, site, config.placeholder, service.clusterIP);
  if (port !== undefined) for (const site of portSites) replacePortAt(copy, site, port);
  recordProvenance(copy, object, service, sites, port === undefined ? undefined : { port, sites: portSites });
  const findings = target.pool === undefined ? portFindings(sites, service, config) : checkPoolConsistency(object, patches, sites, target.pool, service, config);
  return { object: copy.result, patch: copy.patch(), findings, substitutions: tokens };
}

/** A string that is the address itself or `address:port`, not merely one that contains it (10.0.0.50 holds 10.0.0.5). */
function holdsAddress(object: unknown, site: PlaceholderSite, address: string): boolean {
  const value = valueAt(object, toJsonPointer(site.segments));
  return value === address || (typeof value === 'string' && value.startsWith(`${address}:`));
}

function lookupProblem(
  lookup: ServiceLookup,
  target: EppTarget,
  subject: string,
  resolver: ServiceResolver,
  firstSite: PlaceholderSite,
  config: WebhookConfig,
): Finding | undefined {
  const noClusterIP = lookup.kind === 'found' ? withoutClusterIP(lookup.service) : undefined;
  if (lookup.kind === 'found' && noClusterIP === undefined) return undefined;
  const reference = target.service;
  const service = `${reference.namespace}/${reference.name}`;
  const at = { location: patchLocation(firstSite.patchIndex), path: formatPath(firstSite.segments) };
  const pool = target.pool && `InferencePool ${target.pool.namespace}/${target.pool.name}`;
  const chosenBy =
    reference.origin === 'pool' ? `the endpointPickerRef of ${pool}` : reference.origin === 'annotation' ? `annotation ${ANNOTATIONS.eppService}` : 'the webhook default (config eppService)';
  switch (lookup.kind) {
    case 'unavailable':
      return finding(
        'EPP104',
        config.severities,
        at,
        `${config.placeholder}: cannot resolve Service ${service} for ${subject} right now: ${lookup.reason}. This is temporary; the token was not stored`,
        'retry the apply in a few seconds; if it persists, check the webhook pods can reach the API server (readiness /readyz)',
      );
    case 'not-found':
      if (pool !== undefined) {
        return finding('EPP110', config.severities, at, `${pool}'s endpointPickerRef names Service ${service}, which is not found in ${resolver.source}, so ${subject} cannot get its ClusterIP`, resolver.fixes?.notFound?.(service) ?? `create the EPP Service ${service}, or point the pool's endpointPickerRef at the Service in front of its EPP`);
      }
      return finding(
        'EPP101',
        config.severities,
        at,
        `${config.placeholder}: Service ${service} (chosen by ${chosenBy}) not found in ${resolver.source}, so ${subject} cannot get its ClusterIP`,
        resolver.fixes?.notFound?.(service) ?? `create the EPP Service ${service} first (helm release "<release>" names it <release>-epp), or point ${ANNOTATIONS.eppService} at the right [namespace/]name`,
      );
    case 'found':
      if (pool !== undefined) {
        return finding('EPP110', config.severities, at, `${pool}'s endpointPickerRef names Service ${service}, which is ${noClusterIP}, so there is no ClusterIP to give ${subject}`, `point the pool's endpointPickerRef at a ClusterIP Service in front of the EPP (type ClusterIP, port 9002)`);
      }
      return finding(
        'EPP102',
        config.severities,
        at,
        `${config.placeholder}: Service ${service} is ${noClusterIP}, so there is no ClusterIP to give ${subject}`,
        `point ${ANNOTATIONS.eppService} at a ClusterIP Service in front of the EPP (type ClusterIP, port 9002)`,
      );
  }
}

/** What kind of Service has no ClusterIP to give, as a denial names it; undefined when it has one. */
function withoutClusterIP(service: ServiceRecord): string | undefined {
  if (service.type === 'ExternalName') return 'an ExternalName Service';
  if (service.clusterIP === 'None') return 'a headless Service (clusterIP: None)';
  if (service.clusterIP === '') return 'a Service without a ClusterIP';
  return undefined;
}

/** Envoy's port fields (SocketAddress.port_value), as istiod reads them: a number there, a string anywhere else. */
const PORT_FIELDS: ReadonlySet<unknown> = new Set(['port_value', 'portValue']);

/**
 * `port_value: EPP_SERVICE_PORT` becomes the number; the token anywhere else (`host:EPP_SERVICE_PORT`, or a whole
 * string field such as a header value) its digits, still a string: istiod refuses a number in a string field.
 */
function replacePortAt(copy: CopyOnWrite, site: PlaceholderSite, port: number): void {
  const text = copy.get(site.segments) as string;
  const portField = text === PORT_PLACEHOLDER && PORT_FIELDS.has(site.segments.at(-1));
  copy.set(site.segments, portField ? port : text.replaceAll(PORT_PLACEHOLDER, String(port)));
}

function replaceAt(copy: CopyOnWrite, site: PlaceholderSite, token: string, clusterIP: string): void {
  // findPlaceholders found a string at these segments, so every container on the way exists.
  copy.set(site.segments, replaceToken(copy.get(site.segments) as string, token, clusterIP));
}

/**
 * Annotations that let the change be redone when the Service's ClusterIP changes. Paths recorded by an
 * earlier admission stay recorded while they still hold this ClusterIP (an edit that adds one more token
 * must not make the reconciler forget the others).
 */
function recordProvenance(
  copy: CopyOnWrite,
  original: unknown,
  service: ServiceRecord,
  sites: PlaceholderSite[],
  port: { port: number; sites: PlaceholderSite[] } | undefined,
): void {
  const result = copy.result;
  const previous = annotationsOf(original);
  const serviceName = `${service.namespace}/${service.name}`;
  const paths = new Set(sites.map((s) => toJsonPointer(s.segments)));
  if (previous[ANNOTATIONS.resolvedService] === serviceName) {
    for (const pointer of parsePointerList(previous[ANNOTATIONS.placeholderPaths])) {
      const value = valueAt(result, pointer);
      if (typeof value === 'string' && value.includes(service.clusterIP)) paths.add(pointer);
    }
  }
  // The Service is recorded for a port alone too: the reconciler follows its port (or its pool's) like an address.
  const recorded: Record<string, string> = { [ANNOTATIONS.resolvedService]: serviceName };
  if (sites.length > 0) {
    recorded[ANNOTATIONS.resolvedClusterIP] = service.clusterIP;
    recorded[ANNOTATIONS.placeholderPaths] = JSON.stringify([...paths].sort());
  }
  if (port !== undefined) {
    const portPaths = new Set(port.sites.map((s) => toJsonPointer(s.segments)));
    if (previous[ANNOTATIONS.resolvedService] === serviceName && previous[ANNOTATIONS.resolvedPort] === String(port.port)) {
      for (const pointer of parsePointerList(previous[ANNOTATIONS.portPlaceholderPaths])) {
        if (holdsPort(valueAt(result, pointer), port.port)) portPaths.add(pointer);
      }
    }
    recorded[ANNOTATIONS.resolvedPort] = String(port.port);
    recorded[ANNOTATIONS.portPlaceholderPaths] = JSON.stringify([...portPaths].sort());
  }
  if (!isObject(result.metadata)) copy.set(['metadata'], {});
  // An object without annotations gets them in one write (one `add` of the whole map); else each key is set.
  if (!isObject((result.metadata as JsonObject).annotations)) copy.set(['metadata', 'annotations'], recorded);
  else for (const [key, value] of Object.entries(recorded)) copy.set(['metadata', 'annotations', key], value);
}

export function parsePointerList(annotation: unknown): string[] {
  const list = typeof annotation === 'string' ? annotationJson(annotation) : undefined;
  return Array.isArray(list) ? list.filter((p): p is string => typeof p === 'string') : [];
}

export function valueAt(root: unknown, pointer: string): unknown {
  const segments = fromJsonPointer(pointer);
  return segments === undefined ? undefined : valueAtSegments(root, segments);
}

function portFindings(sites: PlaceholderSite[], service: ServiceRecord, config: WebhookConfig): Finding[] {
  // A ClusterIP Service always lists ports; none listed means nobody said which (a --cluster-ip override).
  if (service.ports.length === 0) return [];
  const servicePorts = service.ports.map((p) => p.port);
  const findings: Finding[] = [];
  for (const site of sites) {
    if (site.port === undefined || servicePorts.includes(site.port)) continue;
    const at = { location: patchLocation(site.patchIndex), path: formatPath(site.segments) };
    findings.push(
      finding(
        'EPP105',
        config.severities,
        at,
        `port ${site.port}: Service ${service.namespace}/${service.name} exposes only port ${servicePorts.join(', ')}, so the gateway's connections to ${service.clusterIP}:${site.port} will fail`,
        `set port_value to the Service's ext_proc port (the EPP serves gRPC on 9002)`,
      ),
    );
  }
  return findings;
}
