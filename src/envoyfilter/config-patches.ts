import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { envoyField, isObject, mustBe, type JsonObject } from '../json-value.ts';
import { formatPath, valueAtSegments, type PathSegments } from '../json-path.ts';

/** One entry of `spec.configPatches`, read defensively: mutating webhooks run before schema validation. */
export interface ConfigPatch {
  index: number;
  applyTo: string | undefined;
  operation: string | undefined;
  match: JsonObject;
  /** `patch.value`, when it is an object. */
  value: JsonObject | undefined;
  /** Its `name` as istiod reads it (any JSON may stand there): what the cluster or HTTP filter it adds is known by. */
  valueName: unknown;
  /** Segments from the object root to `patch.value`. */
  valuePath: PathSegments;
}

export interface ConfigPatchesRead {
  patches: ConfigPatch[];
  /** EPP307 findings for entries whose shape is wrong. */
  findings: Finding[];
}

export function patchLocation(index: number): string {
  return `configPatches[${index}]`;
}

/** A `CLUSTER` `ADD` with a cluster to add: the clusters this EnvoyFilter puts in. */
export function addsCluster(patch: ConfigPatch): patch is ConfigPatch & { value: JsonObject } {
  return patch.applyTo === 'CLUSTER' && patch.operation === 'ADD' && patch.value !== undefined;
}

/** The value at `segments` (from the object root, as sites and findings give them) inside the patch's value. */
export function valueInPatch(patch: ConfigPatch, segments: PathSegments): unknown {
  return valueAtSegments(patch.value, segments.slice(patch.valuePath.length));
}

/** Contexts whose patches reach a gateway's listeners (an absent context is ANY). */
const GATEWAY_CONTEXTS: ReadonlySet<string | undefined> = new Set(['GATEWAY', 'ANY', undefined]);

export function reachesGateway(patch: ConfigPatch): boolean {
  const context = patch.match.context;
  return GATEWAY_CONTEXTS.has(typeof context === 'string' ? context : undefined);
}

/** The HTTP filter name a patch matches (`match.listener.filterChain.filter.subFilter.name`), if it names one. */
export function matchedSubFilter(patch: ConfigPatch): string | undefined {
  const listener = patch.match.listener;
  const chain = isObject(listener) ? listener.filterChain : undefined;
  const filter = isObject(chain) ? chain.filter : undefined;
  const subFilter = isObject(filter) ? filter.subFilter : undefined;
  return isObject(subFilter) && typeof subFilter.name === 'string' ? subFilter.name : undefined;
}

/** Reads `spec.configPatches` of an EnvoyFilter, reporting every wrongly typed part as EPP307. */
export function readConfigPatches(object: unknown, severities: SeverityOverrides): ConfigPatchesRead {
  const findings: Finding[] = [];
  // Where a part sits says where it is reported: an entry's own parts under that entry, the rest under spec.
  const malformed = (segments: PathSegments, what: string, got: unknown, location = typeof segments[2] === 'number' ? patchLocation(segments[2]) : segments.length < 2 ? 'object' : 'spec') => {
    const path = formatPath(segments);
    findings.push(
      finding('EPP307', severities, { location, path }, mustBe(path, what, got), `write ${path || 'the object'} as ${what}, as the EnvoyFilter schema requires`),
    );
  };

  if (!isObject(object)) {
    malformed([], 'an object', object);
    return { patches: [], findings };
  }
  if (object.spec === undefined) return { patches: [], findings };
  if (!isObject(object.spec)) {
    malformed(['spec'], 'an object', object.spec);
    return { patches: [], findings };
  }
  const list = object.spec.configPatches;
  if (list === undefined || list === null) return { patches: [], findings };
  if (!Array.isArray(list)) {
    malformed(['spec', 'configPatches'], 'a list', list);
    return { patches: [], findings };
  }

  const patches: ConfigPatch[] = [];
  for (let index = 0; index < list.length; index++) {
    const entry: unknown = list[index];
    const at: PathSegments = ['spec', 'configPatches', index];
    if (!isObject(entry)) {
      malformed(at, 'an object', entry);
      continue;
    }
    const { applyTo, match, patch } = entry;
    if (applyTo !== undefined && typeof applyTo !== 'string') malformed([...at, 'applyTo'], 'a string', applyTo);
    if (match !== undefined && match !== null && !isObject(match)) malformed([...at, 'match'], 'an object', match);
    if (patch !== undefined && patch !== null && !isObject(patch)) {
      malformed([...at, 'patch'], 'an object', patch);
      continue;
    }
    const operation = isObject(patch) ? patch.operation : undefined;
    if (operation !== undefined && typeof operation !== 'string') malformed([...at, 'patch', 'operation'], 'a string', operation);
    const value = isObject(patch) ? patch.value : undefined;
    if (value !== undefined && value !== null && !isObject(value)) malformed([...at, 'patch', 'value'], 'an object', value);
    patches.push({
      index,
      applyTo: typeof applyTo === 'string' ? applyTo : undefined,
      operation: typeof operation === 'string' ? operation : undefined,
      match: isObject(match) ? match : {},
      value: isObject(value) ? value : undefined,
      valueName: isObject(value) ? envoyField(value, 'name') : undefined,
      valuePath: [...at, 'patch', 'value'],
    });
  }
  return { patches, findings };
}
