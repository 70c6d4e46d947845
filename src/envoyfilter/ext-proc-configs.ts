import { envoyField, envoyFieldKey, isContainer, isObject, type JsonObject } from '../json-value.ts';
import type { PathSegments } from '../json-path.ts';
import { addsCluster, valueInPatch, type ConfigPatch } from './config-patches.ts';
import type { Reading } from './field-reading.ts';

export const EXT_PROC_FILTER_NAME = 'envoy.filters.http.ext_proc';
export const EXTERNAL_PROCESSOR_TYPE = 'envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor';
const PER_ROUTE_TYPE = 'envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute';
const TYPED_STRUCT_TYPES = ['udpa.type.v1.TypedStruct', 'xds.type.v3.TypedStruct'];
/**
 * Route FilterConfig (envoy.config.route.v3.FilterConfig): a typed_per_filter_config entry that turns a filter on or
 * off on a route or virtual host, its own per-route config (if any) in `config`.
 */
export const FILTER_CONFIG_TYPE = 'envoy.config.route.v3.FilterConfig';
/** Where Envoy keeps per-route config by filter name, in both spellings istiod reads. */
export const PER_FILTER_KEYS: ReadonlySet<string | number> = new Set(['typed_per_filter_config', 'typedPerFilterConfig']);
/** The ExtProcPerRoute a FilterConfig with disabled: true amounts to for an ext_proc filter: off on the route. */
const TURNED_OFF: JsonObject = Object.freeze({ disabled: true });

/** An ext_proc config found in an EnvoyFilter, with where it sits. */
export interface ExtProcSite {
  kind: 'filter' | 'per-route';
  patch: ConfigPatch;
  /** The ExternalProcessor, or the ExtProcPerRoute. */
  config: JsonObject;
  segments: PathSegments;
  /**
   * How the config was found other than as a plain typed ExternalProcessor/ExtProcPerRoute: inside a TypedStruct
   * (istiod passes its value on as a Struct; Envoy converts it), as an HTTP filter named ext_proc whose
   * typed_config is missing, untyped or of another type, or as a route FilterConfig with disabled: true (read as the
   * ExtProcPerRoute `{disabled: true}` it amounts to: the filter is off on the route).
   */
  via?: 'typed-struct' | 'filter-name' | 'filter-config';
}

/** How a site's fields are read: as Envoy converts a TypedStruct's value, or as istiod converts the patch (jsonpb). */
export function siteReading(site: ExtProcSite): Reading {
  return site.via === 'typed-struct' ? 'envoy' : 'istiod';
}

/** The HTTP filter a per-route site configures: Envoy keys typed_per_filter_config by filter name. */
export function perRouteFilterName(site: ExtProcSite): string | undefined {
  const at = site.segments.findLastIndex((s) => PER_FILTER_KEYS.has(s));
  const name = at < 0 ? undefined : site.segments[at + 1];
  return typeof name === 'string' ? name : undefined;
}

/** The HTTP_FILTER patches that put in an ext_proc filter (one per patch, however many configs it holds). */
export function extProcFilterPatches(sites: readonly ExtProcSite[]): ConfigPatch[] {
  return [...new Set(sites.filter((site) => site.kind === 'filter' && site.patch.applyTo === 'HTTP_FILTER').map((site) => site.patch))];
}

/** `type.googleapis.com/a.b.C` names `a.b.C`; Envoy ignores the URL prefix. */
function typeName(typeUrl: unknown): string | undefined {
  if (typeof typeUrl !== 'string') return undefined;
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

/** The message an `Any` holds, by its `@type`. */
export function anyType(any: unknown): string | undefined {
  return isObject(any) ? typeName(any['@type']) : undefined;
}

/**
 * An HTTP filter named ext_proc with no typed_config at all (found by its name, `via: 'filter-name'`): Envoy rejects it
 * (EPP301, whose fix writes the typed_config whole), and it has no processing_mode to judge.
 */
export function lacksTypedConfig(site: ExtProcSite): boolean {
  return site.via === 'filter-name' && (site.patch.value === undefined || envoyField(site.patch.value, 'typed_config') == null);
}

/** The message inside an `Any`-like object: itself, or the `value` of a TypedStruct wrapper (Envoy converts it). */
export function unwrapAny(any: JsonObject): { type: string | undefined; message: JsonObject; key?: 'value' } {
  const type = typeName(any['@type']);
  if (type !== undefined && TYPED_STRUCT_TYPES.includes(type)) {
    const inner = envoyField(any, 'value');
    return { type: typeName(envoyField(any, 'type_url')), message: isObject(inner) ? inner : {}, key: 'value' };
  }
  return { type, message: any };
}

/**
 * Every ext_proc filter config (ExternalProcessor) and per-route override (ExtProcPerRoute) Envoy reads in the
 * EnvoyFilter's patches, wherever in a patch value they sit. REMOVE patches are skipped: they add nothing.
 */
export function findExtProcConfigs(patches: readonly ConfigPatch[]): ExtProcSite[] {
  return collectExtProcConfigs(patches).sites;
}

/**
 * The sites of findExtProcConfigs, and apart from them the ExtProcPerRoutes Envoy never reads: the `config` of a
 * FilterConfig with `disabled: true`, which turns the filter off on the route and whose config Envoy ignores ("the
 * config is ignored directly", its PerFilterConfigs; asked of Envoy 1.40 by the differential corpus, family
 * filter-config). istiod still converts them.
 */
export function collectExtProcConfigs(patches: readonly ConfigPatch[]): { sites: ExtProcSite[]; neverRead: ExtProcSite[] } {
  const sites: ExtProcSite[] = [];
  const neverRead: ExtProcSite[] = [];
  // FilterConfigs only under istiod's name or an HTTP_FILTER patch's (narrowed to the ext_proc ones below): other
  // filters' are passed by without a site.
  const filterNames = new Set<unknown>([EXT_PROC_FILTER_NAME]);
  for (const patch of patches) if (patch.applyTo === 'HTTP_FILTER' && patch.value !== undefined) filterNames.add(patch.valueName);
  for (const patch of patches) {
    if (patch.value === undefined || patch.operation === 'REMOVE') continue;
    const found = new Set<JsonObject>();
    const ignored = new Set<unknown>();
    visitObjects(patch.value, [...patch.valuePath], (object, segments) => {
      if (!Object.hasOwn(object, '@type')) return;
      const { type, message, key } = unwrapAny(object);
      if (type === FILTER_CONFIG_TYPE && envoyField(object, 'disabled') === true) {
        ignored.add(envoyField(object, 'config'));
        if (PER_FILTER_KEYS.has(segments.at(-2)!) && filterNames.has(segments.at(-1))) {
          sites.push({ kind: 'per-route', patch, config: TURNED_OFF, segments: [...segments], via: 'filter-config' });
        }
        return;
      }
      if (type !== EXTERNAL_PROCESSOR_TYPE && type !== PER_ROUTE_TYPE) return;
      const at = key ? [...segments, key] : [...segments];
      const via = key ? { via: 'typed-struct' as const } : {};
      if (ignored.has(object)) {
        // An ExternalProcessor there is no per-route config at all; unread, it configures nothing either.
        if (type === PER_ROUTE_TYPE) neverRead.push({ kind: 'per-route', patch, config: message, segments: at, ...via });
      } else if (type === EXTERNAL_PROCESSOR_TYPE) {
        found.add(object);
        sites.push({ kind: 'filter', patch, config: message, segments: at, ...via });
      } else {
        sites.push({ kind: 'per-route', patch, config: message, segments: at, ...via });
      }
    });
    // An HTTP filter named ext_proc whose typed_config is missing or untyped is still an ext_proc filter, unless its
    // config comes from discovery (ECDS: config_discovery, typed_config's oneof partner), where it is found where it is.
    if (patch.applyTo === 'HTTP_FILTER' && patch.valueName === EXT_PROC_FILTER_NAME && envoyField(patch.value, 'config_discovery') == null) {
      const typedConfigKey = envoyFieldKey(patch.value, 'typed_config');
      const typed = patch.value[typedConfigKey];
      if (!isObject(typed) || !found.has(typed)) {
        sites.push({
          kind: 'filter',
          patch,
          config: isObject(typed) ? typed : {},
          segments: [...patch.valuePath, typedConfigKey],
          via: 'filter-name',
        });
      }
    }
  }
  // A FilterConfig turns off the filter its key names: an ext_proc one only where that is istiod's or one put in here.
  if (!sites.some((site) => site.via === 'filter-config')) return { sites, neverRead };
  const names = extProcFilterNames(sites);
  return { sites: sites.filter((site) => site.via !== 'filter-config' || names.has(site.segments.at(-1) as string)), neverRead };
}

/** The names of the ext_proc filters an EnvoyFilter's sites configure: istiod's, and every one it puts in. */
export function extProcFilterNames(sites: readonly ExtProcSite[]): Set<string> {
  const names = new Set([EXT_PROC_FILTER_NAME]);
  for (const site of sites) {
    const name = site.kind === 'filter' ? envoyField(holdingFilter(site)?.filter ?? {}, 'name') : undefined;
    if (typeof name === 'string') names.add(name);
  }
  return names;
}

/**
 * The HTTP filter an ext_proc filter config sits in (the object whose typed_config holds it): the patch value itself
 * for an HTTP_FILTER patch, an entry of http_filters inside a connection manager patched whole.
 */
export function holdingFilter(site: ExtProcSite): { filter: JsonObject; segments: PathSegments } | undefined {
  const at = site.segments.findLastIndex((s) => s === 'typed_config' || s === 'typedConfig');
  const segments = at < site.patch.valuePath.length ? site.patch.valuePath : site.segments.slice(0, at);
  const filter = valueInPatch(site.patch, segments);
  return isObject(filter) ? { filter, segments } : undefined;
}

/** Visits every object in a JSON value with its path: the walk's own array, which a visitor that keeps it copies. */
export function visitObjects(value: unknown, segments: (string | number)[], visit: (o: JsonObject, s: PathSegments) => void): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const child: unknown = value[i];
      if (!isContainer(child)) continue;
      segments.push(i);
      visitObjects(child, segments, visit);
      segments.pop();
    }
  } else if (isObject(value)) {
    visit(value, segments);
    for (const key in value) {
      // Most values are strings and numbers: no call, no path step for those.
      const child = value[key];
      if (!isContainer(child)) continue;
      segments.push(key);
      visitObjects(child, segments, visit);
      segments.pop();
    }
  }
}

/** A cluster added by this EnvoyFilter (`applyTo: CLUSTER`, `operation: ADD`). */
export interface ClusterSite {
  patch: ConfigPatch;
  cluster: JsonObject;
}

/**
 * The clusters this EnvoyFilter adds, by name: of several of one name the first, which istiod keeps
 * (pilot/pkg/networking/core/cluster_builder.go normalizeClusters; EPP317).
 */
export function findAddedClusters(patches: readonly ConfigPatch[]): Map<string, ClusterSite> {
  const clusters = new Map<string, ClusterSite>();
  for (const patch of patches) {
    if (!addsCluster(patch)) continue;
    const name = patch.valueName;
    if (typeof name === 'string' && !clusters.has(name)) clusters.set(name, { patch, cluster: patch.value });
  }
  return clusters;
}
