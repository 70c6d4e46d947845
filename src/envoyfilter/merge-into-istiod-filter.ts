import { envoyField, isObject, type JsonObject } from '../json-value.ts';
import { matchedSubFilter, reachesGateway, type ConfigPatch } from './config-patches.ts';
import { EXT_PROC_FILTER_NAME, type ExtProcSite } from './ext-proc-configs.ts';
import { readField } from './field-reading.ts';
import { selectsClassicGateway } from './selects-classic-gateway.ts';
import { processingModeOf, readModeField, silentFor, type BodyMode, type EffectiveProcessingMode, type HeaderMode, type ModeField } from './processing-mode.ts';

/**
 * The processing_mode of the ext_proc filter istiod inserts on a gateway with InferencePool routes
 * (pilot/pkg/xds/filters/filters.go InferencePoolExtProc): headers SKIP, bodies and trailers unset (NONE, SKIP). It
 * sends nothing until istiod's ExtProcPerRoute on each InferencePool route turns it on.
 */
export const ISTIOD_FILTER_MODE: EffectiveProcessingMode = processingModeOf(silentFor);

const HTTP_CONNECTION_MANAGER = 'envoy.filters.network.http_connection_manager';

/**
 * Whether an ext_proc filter site is an HTTP_FILTER MERGE istiod applies to its own InferencePool filter: on a gateway
 * (context GATEWAY or ANY), matching filter envoy.filters.network.http_connection_manager and its subFilter
 * envoy.filters.http.ext_proc
 * (pilot/pkg/networking/core/envoyfilter/listener_patch.go mergeHTTPFilter), with a typed ExternalProcessor: a
 * TypedStruct or another type is no message istiod's merge can merge into its filter. A workloadSelector that picks
 * Istio's classic gateway (selects-classic-gateway.ts) finds no istiod filter: what such a MERGE merges into is
 * not known.
 */
export function mergesIntoIstiodFilter(object: unknown, site: ExtProcSite): boolean {
  const { patch } = site;
  if (site.kind !== 'filter') return false;
  // A TypedStruct, or a typed_config of another message, is no ExternalProcessor istiod's merge can take (EPP223); a MERGE
  // that only names the filter (no typed_config) leaves istiod's config, and is judged on it.
  if (site.via === 'typed-struct' || (site.via === 'filter-name' && patch.value !== undefined && envoyField(patch.value, 'typed_config') !== undefined)) return false;
  return picksIstiodFilter(object, patch);
}

/** Whether a patch is an HTTP_FILTER MERGE whose match picks istiod's InferencePool ext_proc filter, whatever it writes. */
export function picksIstiodFilter(object: unknown, patch: ConfigPatch): boolean {
  if (patch.applyTo !== 'HTTP_FILTER' || patch.operation !== 'MERGE') return false;
  if (!reachesGateway(patch) || selectsClassicGateway(object)) return false;
  const listener = patch.match.listener;
  const chain = isObject(listener) ? listener.filterChain : undefined;
  const filter = isObject(chain) ? chain.filter : undefined;
  return isObject(filter) && filter.name === HTTP_CONNECTION_MANAGER && matchedSubFilter(patch) === EXT_PROC_FILTER_NAME;
}

/**
 * The mode a MERGE's processing_mode carries for `field` into istiod's filter, or undefined. istiod merges the two protos
 * (util.MergeAnyWithAny): a field the MERGE sets replaces istiod's; one it leaves out, or writes with its zero value
 * (DEFAULT, NONE: unset in proto3), keeps istiod's. A value no mode has is judged elsewhere (EPP201, EPP210).
 */
function carried(processingMode: JsonObject | undefined, field: ModeField): HeaderMode | BodyMode | undefined {
  const read = processingMode === undefined ? undefined : readModeField(processingMode, field, 'istiod');
  return read?.kind === 'mode' && read.name !== 'DEFAULT' && read.name !== 'NONE' ? read.mode : undefined;
}

/**
 * The processing_mode istiod's filter runs after the MERGEs into it write `processingModes` (in patch order): each
 * field as the last MERGE that carries it writes it, istiod's where none does. request_header_mode
 * DEFAULT, for one, stays SKIP.
 */
export function mergedProcessingMode(processingModes: readonly (JsonObject | undefined)[]): EffectiveProcessingMode {
  return processingModeOf((field) => processingModes.reduce<HeaderMode | BodyMode>((mode, written) => carried(written, field) ?? mode, ISTIOD_FILTER_MODE[field]));
}

/** What the MERGEs into istiod's filter in one EnvoyFilter leave it running. */
export interface IstiodFilterMerge {
  /** Its processing_mode after every MERGE, in patch order. */
  mode: EffectiveProcessingMode;
  /** Some MERGE gives it a grpc_service (else it keeps istiod's cluster dummy). */
  grpcService: boolean;
  /** The message_timeout the last MERGE that sets one writes. */
  messageTimeout: string | undefined;
}

/** istiod's filter after `merges` (the MERGE sites into it, in patch order). */
export function mergedIstiodFilter(merges: readonly ExtProcSite[]): IstiodFilterMerge {
  return {
    mode: mergedProcessingMode(merges.map(writtenProcessingMode)),
    grpcService: merges.some((site) => readField(site.config, 'grpc_service', 'istiod') != null),
    messageTimeout: merges.map((site) => readField(site.config, 'message_timeout', 'istiod')).findLast((t): t is string => typeof t === 'string'),
  };
}

/** A MERGE site's processing_mode as istiod reads it, if it is an object. */
export function writtenProcessingMode(site: ExtProcSite): JsonObject | undefined {
  const mode = readField(site.config, 'processing_mode', 'istiod');
  return isObject(mode) ? mode : undefined;
}

/** How messages name istiod's filter. */
export const ISTIOD_FILTER = `${EXT_PROC_FILTER_NAME}, the filter istiod inserts for InferencePool routes`;
