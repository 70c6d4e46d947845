import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { PathSegments } from '../json-path.ts';

/**
 * The segments of a path as formatPath writes it (`spec.configPatches[0].patch.value["envoy.filters.http.ext_proc"]`).
 * Reads as far as it can: a path it cannot read to the end still locates its readable start.
 */
export function parseFormattedPath(text: string): (string | number)[] {
  const segments: (string | number)[] = [];
  const token = /^(?:\.?([A-Za-z_@$][\w@$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\])/;
  let rest = text;
  while (rest !== '') {
    const match = token.exec(rest);
    if (match === null) break;
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push(JSON.parse(match[3]) as string);
    rest = rest.slice(match[0].length);
  }
  return segments;
}

/**
 * The 1-based line of the deepest node along `segments` in a parsed document: the key's line for a mapping entry (where
 * an editor shows the field), the item's line for a sequence item. A path that leaves the source (a field the webhook
 * would add) stops at the last node that exists.
 */
export function lineOfPath(document: Document.Parsed, lineCounter: LineCounter, segments: PathSegments): number {
  let node: unknown = document.contents;
  let offset = (document.contents as Node | null)?.range?.[0] ?? 0;
  for (const segment of segments) {
    if (isAlias(node)) node = node.resolve(document);
    let next: { at: number | undefined; node: unknown } | undefined;
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && keyText(item.key) === String(segment));
      if (pair !== undefined) next = { at: (pair.key as Node | null)?.range?.[0], node: pair.value };
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item !== undefined) next = { at: (item as Node | null)?.range?.[0], node: item };
    }
    if (next === undefined) break;
    if (next.at !== undefined) offset = next.at;
    node = next.node;
  }
  return lineCounter.linePos(offset).line;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}
