import { ANNOTATIONS, annotationsOf, objectName } from '../annotations.ts';
import type { ServiceLookup, ServiceRecord, ServiceResolver } from '../cluster/service-resolver.ts';
import type { WebhookConfig } from '../config.ts';
import { CopyOnWrite } from '../copy-on-write.ts';
import { finding, type Finding } from '../findings.ts';
import { fromJsonPointer, formatPath, toJsonPointer } from '../json-path.ts';
import { isObject, type JsonObject } from '../json-value.ts';
import { patchLocation, readConfigPatches } from './config-patches.ts';
import { eppServiceReference, type ServiceReference } from './epp-service-reference.ts';
import { findPlaceholders, type PlaceholderSite } from './find-placeholders.ts';

export interface SubstitutionResult {
  /** The object to store: the input itself when nothing changed, else a copy sharing every unchanged part with it (read-only). */
  object: unknown;
  findings: Finding[];
  /** How many strings got the ClusterIP. */
  substitutions: number;
}

/**
 * Replaces the placeholder token in every string of `spec.configPatches[*].patch.value` with the
 * live ClusterIP of the EPP Service, and records where it did so, so a later reconcile can redo it.
 */
export async function substituteClusterIP(
  object: unknown,
  objectNamespace: string,
  resolver: ServiceResolver,
  config: WebhookConfig,
): Promise<SubstitutionResult> {
  const unchanged = (findings: Finding[]): SubstitutionResult => ({ object, findings, substitutions: 0 });
  const { patches, findings: shapeFindings } = readConfigPatches(object, config.severities);
  if (shapeFindings.length > 0) return unchanged(shapeFindings);
  const sites = findPlaceholders(patches, config.placeholder);
  if (sites.length === 0) return unchanged([]);

  const objectNameText = objectName(object).name;
  const resolved = eppServiceReference(objectNamespace, object, config);
  if ('finding' in resolved) return unchanged([resolved.finding]);
  const reference = resolved.reference;
  const subject = `EnvoyFilter ${objectNamespace}/${objectNameText}`;

  const lookup = await resolver.lookup(reference.namespace, reference.name);
  const problem = lookupProblem(lookup, reference, subject, resolver.source, sites[0], config);
  if (problem) return unchanged([problem]);
  const service = (lookup as { service: ServiceRecord }).service;

  const copy = new CopyOnWrite(object as JsonObject);
  for (const site of sites) replaceAt(copy, site, config.placeholder, service.clusterIP);
  recordProvenance(copy, object, service, sites);
  return { object: copy.result, findings: portFindings(sites, service, config), substitutions: sites.length };
}

function lookupProblem(
  lookup: ServiceLookup,
  reference: ServiceReference,
  subject: string,
  source: string,
  firstSite: PlaceholderSite,
  config: WebhookConfig,
): Finding | undefined {
  const noClusterIP = lookup.kind === 'found' ? withoutClusterIP(lookup.service) : undefined;
  if (lookup.kind === 'found' && noClusterIP === undefined) return undefined;
  const service = `${reference.namespace}/${reference.name}`;
  const at = { location: patchLocation(firstSite.patchIndex), path: formatPath(firstSite.segments) };
  const chosenBy =
    reference.origin === 'annotation' ? `annotation ${ANNOTATIONS.eppService}` : 'the webhook default (config eppService)';
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
      return finding(
        'EPP101',
        config.severities,
        at,
        `${config.placeholder}: Service ${service} (chosen by ${chosenBy}) not found in ${source}, so ${subject} cannot get its ClusterIP`,
        `create the EPP Service ${service} first (helm release "<release>" names it <release>-epp), or point ${ANNOTATIONS.eppService} at the right [namespace/]name`,
      );
    case 'found':
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

function replaceAt(copy: CopyOnWrite, site: PlaceholderSite, token: string, clusterIP: string): void {
  const segments = site.segments;
  // findPlaceholders found a string at these segments, so every container on the way exists.
  const container = copy.writable(segments.slice(0, -1))!;
  const key = segments[segments.length - 1];
  container[key] = (container[key] as string).replaceAll(token, clusterIP);
}

/**
 * Annotations that let the change be redone when the Service's ClusterIP changes. Paths recorded by an
 * earlier admission stay recorded while they still hold this ClusterIP (an edit that adds one more token
 * must not make the reconciler forget the others).
 */
function recordProvenance(copy: CopyOnWrite, original: unknown, service: ServiceRecord, sites: PlaceholderSite[]): void {
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
  if (!isObject(result.metadata)) result.metadata = {};
  const metadata = copy.writable(['metadata'])!;
  if (!isObject(metadata.annotations)) metadata.annotations = {};
  const annotations = copy.writable(['metadata', 'annotations'])!;
  annotations[ANNOTATIONS.resolvedService] = serviceName;
  annotations[ANNOTATIONS.resolvedClusterIP] = service.clusterIP;
  annotations[ANNOTATIONS.placeholderPaths] = JSON.stringify([...paths].sort());
}

export function parsePointerList(annotation: unknown): string[] {
  if (typeof annotation !== 'string') return [];
  try {
    const list: unknown = JSON.parse(annotation);
    return Array.isArray(list) ? list.filter((p): p is string => typeof p === 'string') : [];
  } catch {
    return [];
  }
}

export function valueAt(root: unknown, pointer: string): unknown {
  const segments = fromJsonPointer(pointer);
  if (segments === undefined) return undefined;
  let value: unknown = root;
  for (const segment of segments) {
    if (Array.isArray(value) && /^\d+$/.test(segment)) value = value[Number(segment)];
    else if (isObject(value) && Object.hasOwn(value, segment)) value = value[segment];
    else return undefined;
  }
  return value;
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
