import type { PathSegments } from '../json-path.ts';
import { envoyField, isObject, type JsonObject } from '../json-value.ts';
import type { ConfigPatch } from './config-patches.ts';
import { anyType, FILTER_CONFIG_TYPE, PER_FILTER_KEYS, visitObjects } from './ext-proc-configs.ts';

/** One typed_per_filter_config entry of a patch: the filter it is for (Envoy keys the map by filter name). */
export interface PerFilterEntry {
  patch: ConfigPatch;
  filterName: string;
  entry: JsonObject;
  segments: PathSegments;
}

/** Patches whose value is an HTTP filter or a cluster: neither holds route configuration. */
const NO_ROUTES: ReadonlySet<unknown> = new Set(['HTTP_FILTER', 'CLUSTER']);

/**
 * The typed_per_filter_config entries for the filters named `filterNames` in the patches, wherever in a patch value
 * they sit. REMOVE patches add nothing.
 */
export function perFilterEntries(patches: readonly ConfigPatch[], filterNames: ReadonlySet<string>): PerFilterEntry[] {
  const entries: PerFilterEntry[] = [];
  for (const patch of patches) {
    if (patch.value === undefined || patch.operation === 'REMOVE' || NO_ROUTES.has(patch.applyTo)) continue;
    visitObjects(patch.value, [...patch.valuePath], (object, segments) => {
      for (const key of PER_FILTER_KEYS) {
        const map = object[key as string];
        if (!isObject(map)) continue;
        for (const filterName of filterNames) {
          const entry = Object.hasOwn(map, filterName) ? map[filterName] : undefined;
          if (isObject(entry)) entries.push({ patch, filterName, entry, segments: [...segments, key as string, filterName] });
        }
      }
    });
  }
  return entries;
}

export function isFilterConfig(entry: JsonObject): boolean {
  return anyType(entry) === FILTER_CONFIG_TYPE;
}

/**
 * Whether a FilterConfig turns its filter on: not `disabled: true`, and a `config` (Envoy refuses one with neither,
 * istiod one whose config has no "@type").
 */
export function filterConfigTurnsOn(entry: JsonObject): boolean {
  return envoyField(entry, 'disabled') !== true && hasTypedConfig(entry);
}

/** Whether a FilterConfig's `config` is an Any istiod can decode: an object naming its "@type". */
export function hasTypedConfig(entry: JsonObject): boolean {
  const config = envoyField(entry, 'config');
  return isObject(config) && typeof config['@type'] === 'string';
}
