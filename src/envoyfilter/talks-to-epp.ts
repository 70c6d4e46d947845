import { isIP } from 'node:net';
import { canonicalIP } from '../canonical-ip.ts';
import { ANNOTATIONS, annotationsOf } from '../annotations.ts';
import type { WebhookConfig } from '../config.ts';
import { finding, type Finding } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { envoyField, isObject, type JsonObject } from '../json-value.ts';
import { matchedSubFilter, patchLocation, readConfigPatches, type ConfigPatch } from './config-patches.ts';
import { EXT_PROC_FILTER_NAME, findAddedClusters, findExtProcConfigs, perRouteFilterName, type ClusterSite, type ExtProcSite } from './ext-proc-configs.ts';
import { findPlaceholders } from './find-placeholders.ts';
import { parseIstioClusterName } from './istio-cluster-name.ts';
import { socketAddresses } from './socket-addresses.ts';
import { targetCluster } from './target-cluster.ts';

/**
 * What the cluster state says about EPP Services, as the classification needs it. The shell fills it from the
 * Service cache; the pure core only reads it.
 */
export interface EppServices {
  /**
   * `namespace/name` of Services known to front an EPP beyond the configured one: the `endpointPickerRef` of every
   * InferencePool (the pool cache's endpointPickerServices(), via knownEppServices).
   */
  names: ReadonlySet<string>;
  /** ClusterIPs (canonicalIP) of known EPP Services, so a cluster that writes the IP itself is recognised. */
  clusterIPs: ReadonlySet<string>;
  /**
   * ClusterIP (canonicalIP) -> `namespace/name`, for the known EPP Services the object may reference (its own namespace, or one
   * allowedServiceNamespaces allows): a hand-written one is named, and the placeholder offered in its place (EPP117).
   */
  referable?: ReadonlyMap<string, string>;
}

/** Why an ext_proc config was (or was not) judged to talk to an EPP, most decisive first. */
export type EppEvidence =
  /** `epp-webhook.io/epp: "true"|"false"` on the object: the operator said so. */
  | 'annotation'
  /** The placeholder, or an annotation of epp-webhook.io, on the object: it was written for this webhook. */
  | 'epp-webhook'
  /** Its cluster reaches an EPP Service: Istio's outbound cluster of it, its DNS name, or its ClusterIP. */
  | 'epp-service'
  /**
   * A MERGE into (or a per-route override of) a filter named like the one istiod inserts for InferencePool routes.
   * Only a name (most ext_proc filters are called envoy.filters.http.ext_proc), so it warns at most, like a name-hint.
   */
  | 'inferencepool-filter'
  /** Only a name (or, where nothing names the server, the port 9002) looks like an EPP's: judged as one at warning level at most. */
  | 'name-hint'
  /** Nothing says EPP: only what Envoy and Istio enforce applies. */
  | 'none';

export interface EppJudgement {
  talksToEpp: boolean;
  evidence: EppEvidence;
  /** Short, for a terminal line: `placeholder EPP_SERVICE_CLUSTER_IP`, `cluster waf_cluster is no EPP Service`. */
  reason: string;
}

export const EPP_ANNOTATION = 'epp-webhook.io/epp';

/** Evidence that rests on a name only: EPP rules judged on it warn at most, and say how to confirm. */
export function isHintOnly(evidence: EppEvidence): boolean {
  return evidence === 'name-hint' || evidence === 'inferencepool-filter';
}
const ANNOTATION_PREFIX = 'epp-webhook.io/';
const EPP_PORT = 9002;
/** `-epp`, `epp-`, `_epp`, `.epp` as a word of the name, or endpoint-picker / endpointpicker. */
const EPP_NAME = /(^|[-_.])epp([-_.]|$)|endpoint-?picker/i;

/** A Service as a cluster name or a DNS name names it. */
interface ServiceName {
  namespace: string;
  name: string;
}

/** `svc.ns.svc.cluster.local` (any cluster domain) or `svc.ns.svc` names a Service; anything else does not. */
function serviceOfHost(host: string): ServiceName | undefined {
  const labels = host.toLowerCase().replace(/\.$/, '').split('.');
  if (labels.length < 3 || labels[2] !== 'svc') return undefined;
  return { name: labels[0], namespace: labels[1] };
}

/** The configured EPP Service, or one the shell knows of (an InferencePool's endpointPickerRef). */
function isEppService(service: ServiceName, config: WebhookConfig, known: EppServices): boolean {
  if (known.names.has(`${service.namespace}/${service.name}`)) return true;
  const configured = config.eppService;
  // No configured namespace means "in the object's namespace": the name is the one EPP Services get in this cluster.
  return service.name === configured.name && (configured.namespace === '' || configured.namespace === service.namespace);
}

/** The HTTP filter an ext_proc site configures: the filter it adds or merges into, or the key of a per-route config. */
function filterName(site: ExtProcSite): string | undefined {
  if (site.kind === 'per-route') return perRouteFilterName(site);
  if (site.patch.operation === 'MERGE') return matchedSubFilter(site.patch);
  const name = site.patch.valueName;
  return typeof name === 'string' ? name : undefined;
}

/** The host and port of every socket_address of a cluster (socket-addresses.ts walks them). */
function endpointAddresses(cluster: JsonObject): { host: string; port: number | undefined }[] {
  const addresses: { host: string; port: number | undefined }[] = [];
  for (const { socket, address: host } of socketAddresses(cluster)) {
    const port = envoyField(socket, 'port_value');
    if (typeof host === 'string') addresses.push({ host, port: typeof port === 'number' ? port : typeof port === 'string' ? Number(port) : undefined });
  }
  return addresses;
}

interface ObjectFacts {
  config: WebhookConfig;
  known: EppServices;
  clusters: Map<string, ClusterSite>;
}

/** What the cluster an ext_proc config calls says: an EPP Service (proof), a name or port like an EPP's (hint), or nothing. */
function judgeCluster(name: string, facts: ObjectFacts): EppJudgement | undefined {
  const istio = parseIstioClusterName(name);
  if (istio !== undefined) {
    const service = serviceOfHost(istio.host);
    if (service !== undefined && isEppService(service, facts.config, facts.known)) {
      return { talksToEpp: true, evidence: 'epp-service', reason: `cluster ${name} is Istio's cluster of EPP Service ${service.namespace}/${service.name}` };
    }
    // The port hints only where no name says what the server is: `granite-activator` on 9002 is the llm-d activator.
    if (service === undefined) return istio.port === EPP_PORT ? hint(`cluster ${name}`, `its port ${EPP_PORT}`) : undefined;
    return EPP_NAME.test(service.name) ? hint(`cluster ${name}`, `its Service's name, ${service.name}`) : undefined;
  }
  const defined = facts.clusters.get(name);
  if (defined === undefined) return EPP_NAME.test(name) ? hint(`cluster ${name}`, 'its name') : undefined;
  const token = facts.config.placeholder;
  // The first thing that looks like an EPP's, named in the note; a proof further on still wins.
  let hinted = EPP_NAME.test(name) ? 'its name' : undefined;
  for (const { host, port } of endpointAddresses(defined.cluster)) {
    if (host.includes(token)) {
      return { talksToEpp: true, evidence: 'epp-service', reason: `cluster ${name} gets the EPP Service's ClusterIP (${token})` };
    }
    if (isIP(host) !== 0 && facts.known.clusterIPs.has(canonicalIP(host))) {
      return { talksToEpp: true, evidence: 'epp-service', reason: `cluster ${name} connects to ${host}, an EPP Service's ClusterIP` };
    }
    const service = serviceOfHost(host);
    if (service !== undefined && isEppService(service, facts.config, facts.known)) {
      return { talksToEpp: true, evidence: 'epp-service', reason: `cluster ${name} connects to EPP Service ${service.namespace}/${service.name}` };
    }
    if (service === undefined) hinted ??= isIP(host) !== 0 && port === EPP_PORT ? `its endpoint's port ${EPP_PORT}` : undefined;
    else hinted ??= EPP_NAME.test(service.name) ? `its Service's name, ${service.name}` : undefined;
  }
  return hinted === undefined ? undefined : hint(`cluster ${name}`, hinted);
}

function hint(what: string, why: string): EppJudgement {
  return {
    talksToEpp: true,
    evidence: 'name-hint',
    reason: `${what} looks like an EPP's (${why})`,
  };
}

export interface EnvoyFilterJudgement {
  /** Per ext_proc site, in the order of `sites`. */
  judgements: EppJudgement[];
  /** A malformed `epp-webhook.io/epp` annotation, or one that contradicts the placeholder. */
  findings: Finding[];
}

const ANNOTATION_AT = { location: 'metadata.annotations', path: `metadata.annotations["${EPP_ANNOTATION}"]` };

/**
 * Which ext_proc configs of an EnvoyFilter talk to an Endpoint Picker, from the object and the cluster state:
 * only those are held to what the EPP speaks. Everything else is another team's ext_proc server (a WAF, an MCP
 * gateway, body-based routing), for which only what Envoy and Istio enforce applies.
 */
export function judgeExtProcSites(
  object: unknown,
  patches: readonly ConfigPatch[],
  sites: readonly ExtProcSite[],
  config: WebhookConfig,
  known: EppServices,
  /** Whether a string holds the placeholder token, when the caller has looked already. */
  holdsPlaceholder: boolean = findPlaceholders(patches, config.placeholder, 0).length > 0,
): EnvoyFilterJudgement {
  const findings: Finding[] = [];
  const annotations = annotationsOf(object);
  const explicit = annotations[EPP_ANNOTATION];
  const ownAnnotation = Object.keys(annotations).find((key) => key.startsWith(ANNOTATION_PREFIX) && key !== EPP_ANNOTATION);

  if (explicit === 'true' || explicit === 'false') {
    if (explicit === 'false' && (holdsPlaceholder || annotations[ANNOTATIONS.resolvedService] !== undefined)) {
      findings.push(
        finding(
          'EPP209',
          config.severities,
          ANNOTATION_AT,
          `${EPP_ANNOTATION} "false" on an EnvoyFilter that gets the EPP Service's ClusterIP (${config.placeholder}): the webhook fills in the address but skips every EPP rule for a config that talks to an EPP`,
          `remove ${EPP_ANNOTATION}, or stop using ${config.placeholder} in this EnvoyFilter`,
        ),
      );
    }
    const talksToEpp = explicit === 'true';
    const judgement: EppJudgement = { talksToEpp, evidence: 'annotation', reason: `annotation ${EPP_ANNOTATION}: "${explicit}"` };
    return { judgements: sites.map(() => judgement), findings };
  }
  if (explicit !== undefined) {
    findings.push(
      finding(
        'EPP208',
        config.severities,
        ANNOTATION_AT,
        `${EPP_ANNOTATION} ${JSON.stringify(explicit)}: not "true" or "false", so it cannot say whether this EnvoyFilter's ext_proc server is an EPP`,
        `write ${EPP_ANNOTATION}: "true" (judge every ext_proc config here as talking to an EPP) or "false" (only what Envoy and Istio enforce), quoted`,
      ),
    );
  }

  const resolvedIP = annotations[ANNOTATIONS.resolvedClusterIP];
  const facts: ObjectFacts = {
    config,
    known: typeof resolvedIP === 'string' ? { names: known.names, clusterIPs: new Set([...known.clusterIPs, canonicalIP(resolvedIP)]), referable: known.referable } : known,
    clusters: findAddedClusters(patches),
  };
  const filters = new Map<string, ExtProcSite>();
  for (const site of sites) {
    const name = site.kind === 'filter' ? filterName(site) : undefined;
    if (name !== undefined && site.patch.operation !== 'MERGE') filters.set(name, site);
  }
  const writtenForWebhook = objectWideJudgement(holdsPlaceholder, ownAnnotation, annotations, config);
  if (writtenForWebhook !== undefined) {
    // The token (or the ClusterIP written in its place) proves the cluster it is in. An ext_proc config whose cluster is
    // not that one, but defined here or Istio's cluster of a Service, calls another server (a WAF beside the EPP): its
    // own evidence decides. The EPP's cluster is known where one defined here is proven, or where a config calls Istio's
    // cluster of an EPP Service (no CLUSTER patch, no token: an EnvoyFilter written with the inference-pool annotation).
    const eppClusters = new Set([...facts.clusters.keys()].filter((name) => judgeCluster(name, facts)?.evidence === 'epp-service'));
    const served = sites.map((site) => servingCluster(site, filters));
    const eppKnown = eppClusters.size > 0 || served.some((name) => name !== undefined && parseIstioClusterName(name) !== undefined && judgeCluster(name, facts)?.evidence === 'epp-service');
    const judgements = sites.map((site, i) => {
      const cluster = served[i];
      const known = cluster !== undefined && (facts.clusters.has(cluster) || parseIstioClusterName(cluster) !== undefined);
      const another = eppKnown && known && !eppClusters.has(cluster);
      return another ? judgeSite(site, filters, facts) : writtenForWebhook;
    });
    return { judgements, findings };
  }

  const judgements = sites.map((site) => judgeSite(site, filters, facts));
  return { judgements, findings };
}

/** The placeholder, or an epp-webhook.io annotation: the object was written for this webhook. */
function objectWideJudgement(
  holdsPlaceholder: boolean,
  ownAnnotation: string | undefined,
  annotations: Record<string, unknown>,
  config: WebhookConfig,
): EppJudgement | undefined {
  if (holdsPlaceholder) return { talksToEpp: true, evidence: 'epp-webhook', reason: `placeholder ${config.placeholder}` };
  if (ownAnnotation === undefined) return undefined;
  const resolved = annotations[ANNOTATIONS.resolvedService];
  const reason = typeof resolved === 'string' ? `${config.placeholder} filled in with EPP Service ${resolved}'s ClusterIP` : `annotation ${ownAnnotation}`;
  return { talksToEpp: true, evidence: 'epp-webhook', reason };
}

/** The cluster an ext_proc config calls: its own, or (a per-route config without one) that of the filter it configures here. */
function servingCluster(site: ExtProcSite, filters: Map<string, ExtProcSite>): string | undefined {
  const own = siteCluster(site);
  if (own !== undefined || site.kind === 'filter') return own;
  const configured = filters.get(filterName(site) ?? '');
  return configured === undefined ? undefined : servingCluster(configured, filters);
}

/** The cluster an ext_proc config (or the overrides of a per-route config) names itself. */
function siteCluster(site: ExtProcSite): string | undefined {
  const config = site.kind === 'filter' ? site.config : envoyField(site.config, 'overrides');
  return isObject(config) ? targetCluster(config)?.name : undefined;
}

function judgeSite(site: ExtProcSite, filters: Map<string, ExtProcSite>, facts: ObjectFacts): EppJudgement {
  const own = siteCluster(site);
  const byCluster = own === undefined ? undefined : judgeCluster(own, facts);
  if (byCluster?.evidence === 'epp-service') return byCluster;

  const filter = filterName(site);
  const merges = site.kind === 'filter' ? site.patch.operation === 'MERGE' : !filters.has(filter ?? '');
  if (filter === EXT_PROC_FILTER_NAME && merges) {
    return {
      talksToEpp: true,
      evidence: 'inferencepool-filter',
      reason: `${site.kind === 'filter' ? 'MERGE into' : 'per-route config of'} ${EXT_PROC_FILTER_NAME}, the filter istiod inserts for InferencePool routes`,
    };
  }
  if (byCluster !== undefined) return byCluster;
  // A per-route config without its own service configures a filter this EnvoyFilter adds: judged as that filter.
  const configured = site.kind === 'per-route' && own === undefined && filter !== undefined ? filters.get(filter) : undefined;
  if (configured !== undefined) return judgeSite(configured, filters, facts);
  return { talksToEpp: false, evidence: 'none', reason: own === undefined ? 'no sign of an EPP' : `cluster ${own} is no EPP Service` };
}

/** What is known without a Service cache: only the configured EPP Service's name. */
export const NO_KNOWN_EPP_SERVICES: EppServices = { names: new Set(), clusterIPs: new Set() };

/** One ext_proc config of an EnvoyFilter with its judgement, for reports. */
export interface ExtProcJudgement extends EppJudgement {
  location: string;
  /** The ExternalProcessor or ExtProcPerRoute, as a finding's path. */
  path: string;
}

/** The judgement of every ext_proc config in an EnvoyFilter, for `check` to show; malformed parts are skipped. */
export function judgeEnvoyFilter(object: unknown, config: WebhookConfig, known: EppServices = NO_KNOWN_EPP_SERVICES): ExtProcJudgement[] {
  const { patches } = readConfigPatches(object, config.severities);
  const sites = findExtProcConfigs(patches);
  const { judgements } = judgeExtProcSites(object, patches, sites, config, known);
  return sites.map((site, i) => ({ location: patchLocation(site.patch.index), path: formatPath(site.segments), ...judgements[i] }));
}
