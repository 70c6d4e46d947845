import { envoyField, isContainer, isObject } from '../json-value.ts';
import type { PathSegments } from '../json-path.ts';
import type { ConfigPatch } from './config-patches.ts';

/** A string in a patch value that carries the placeholder token. */
export interface PlaceholderSite {
  patchIndex: number;
  segments: PathSegments;
  /** The port this address is paired with (`port_value` beside it, or `TOKEN:9002`), when there is one. */
  port: number | undefined;
}

/** Every string under `configPatches[*].patch.value` that contains the token, whole or embedded. */
export function findPlaceholders(patches: readonly ConfigPatch[], token: string, limit = Infinity): PlaceholderSite[] {
  return findEachPlaceholder(patches, [token], limit)[0];
}

/**
 * findPlaceholders for several tokens in one walk (every admission looks for the address and the port token): the sites
 * of each, in order. Once more than `limit` are kept, no more are (a string holding several tokens may take the count a
 * little past it): a flood of tokens costs the walk, not a site each.
 */
export function findEachPlaceholder(patches: readonly ConfigPatch[], tokens: readonly string[], limit = Infinity): PlaceholderSite[][] {
  const sites: PlaceholderSite[][] = tokens.map(() => []);
  let found = 0;
  // A string shorter than every token cannot hold one. With the default tokens (16 and 22 characters) that is most
  // strings of an Envoy config ("STATIC", "ext_proc", port names): no search for those.
  const shortest = Math.min(...tokens.map((token) => token.length));
  for (const patch of patches) {
    if (patch.value === undefined) continue;
    walk(patch.value, [...patch.valuePath], (value, segments, parent) => {
      if (value.length < shortest || found > limit) return;
      for (let i = 0; i < tokens.length; i++) {
        if (value.includes(tokens[i])) {
          sites[i].push({ patchIndex: patch.index, segments: [...segments], port: pairedPort(value, tokens[i], parent) });
          found++;
        }
      }
    });
  }
  return sites;
}

function pairedPort(value: string, token: string, parent: unknown): number | undefined {
  const colon = value.indexOf(`${token}:`);
  if (colon >= 0) {
    const digits = /^\d+/.exec(value.slice(colon + token.length + 1));
    if (digits) return Number(digits[0]);
  }
  if (isObject(parent)) {
    const port = envoyField(parent, 'port_value');
    if (typeof port === 'number') return port;
    if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  }
  return undefined;
}

/** Numbers, booleans and nulls hold no text: the walk makes no call and no path step for those. */
const mayHoldText = (value: unknown): boolean => typeof value === 'string' || isContainer(value);

/**
 * Visits every string in a JSON value with its path and the object or list that holds it. The path is the walk's own
 * array, changed as it goes on: a visitor that keeps it keeps a copy (most strings are not kept, and every admission
 * walks every string).
 */
function walk(
  value: unknown,
  segments: (string | number)[],
  visit: (text: string, segments: PathSegments, parent: unknown) => void,
  parent: unknown = undefined,
): void {
  if (typeof value === 'string') {
    visit(value, segments, parent);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const child: unknown = value[i];
      if (!mayHoldText(child)) continue;
      segments.push(i);
      walk(child, segments, visit, value);
      segments.pop();
    }
  } else if (isObject(value)) {
    for (const key in value) {
      const child = value[key];
      if (!mayHoldText(child)) continue;
      segments.push(key);
      walk(child, segments, visit, value);
      segments.pop();
    }
  }
}
