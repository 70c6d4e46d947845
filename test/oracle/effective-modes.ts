import type { TranslatedPatch, JsonObject } from './envoy/gateway-bootstrap.ts';

export interface Mode {
  request_header_mode: string;
  response_header_mode: string;
  request_body_mode: string;
  response_body_mode: string;
  request_trailer_mode: string;
  response_trailer_mode: string;
}

const EXTERNAL_PROCESSOR = 'envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor';
const PER_ROUTE = 'envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute';
const FILTER_CONFIG = 'envoy.config.route.v3.FilterConfig';

/**
 * The processing mode Envoy runs at each ext_proc site of what istiod pushes (`patch/kind/n`, the same keys
 * as the webhook's judged modes): the proto's values, with Envoy's defaults for what is unset (headers SEND,
 * trailers SKIP, bodies NONE; DEFAULT is the default). A per-route override without processing_mode keeps
 * the filter's mode and has no entry. An HTTP_FILTER MERGE into istiod's InferencePool ext_proc filter runs
 * as the filter Envoy gets: istiod's after every such MERGE (the last mergedIntoInferencePool), not as the fields it
 * writes. The config of a route FilterConfig with disabled: true runs nowhere: Envoy turns the filter off there and
 * never reads it (its PerFilterConfigs; the corpus' disabled-true-config entries of family filter-config load though
 * Envoy would refuse what they hold).
 */
export function effectiveModes(patches: readonly TranslatedPatch[]): Map<string, Mode> {
  const modes = new Map<string, Mode>();
  const inferencePoolFilter = patches.findLast((p) => p.mergedIntoInferencePool !== undefined)?.mergedIntoInferencePool;
  for (const patch of patches) {
    if (patch.value === undefined) continue;
    const ordinals = { filter: 0, 'per-route': 0 };
    visit(patch.mergedIntoInferencePool === undefined ? patch.value : inferencePoolFilter, (object) => {
      const type = typeof object['@type'] === 'string' ? object['@type'].slice(object['@type'].lastIndexOf('/') + 1) : undefined;
      if (type === FILTER_CONFIG && object.disabled === true) return false;
      if (type === EXTERNAL_PROCESSOR) {
        modes.set(`${patch.index}/filter/${ordinals.filter++}`, resolve(object.processing_mode as JsonObject | undefined));
      } else if (type === PER_ROUTE) {
        const n = ordinals['per-route']++;
        const mode = (object.overrides as JsonObject | undefined)?.processing_mode as JsonObject | undefined;
        if (mode !== undefined) modes.set(`${patch.index}/per-route/${n}`, resolve(mode));
      }
    });
  }
  return modes;
}

function resolve(mode: JsonObject | undefined): Mode {
  const header = (v: unknown, unset: string) => (v === undefined || v === 'DEFAULT' ? unset : String(v));
  return {
    request_header_mode: header(mode?.request_header_mode, 'SEND'),
    response_header_mode: header(mode?.response_header_mode, 'SEND'),
    request_body_mode: mode?.request_body_mode === undefined ? 'NONE' : String(mode.request_body_mode),
    response_body_mode: mode?.response_body_mode === undefined ? 'NONE' : String(mode.response_body_mode),
    request_trailer_mode: header(mode?.request_trailer_mode, 'SKIP'),
    response_trailer_mode: header(mode?.response_trailer_mode, 'SKIP'),
  };
}

/** Calls `fn` on every object in `value`, and on the objects inside it unless `fn` returns false. */
function visit(value: unknown, fn: (o: JsonObject) => boolean | void): void {
  if (Array.isArray(value)) for (const item of value) visit(item, fn);
  else if (typeof value === 'object' && value !== null) {
    if (fn(value as JsonObject) === false) return;
    for (const child of Object.values(value)) visit(child, fn);
  }
}
