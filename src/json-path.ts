/** A path into a JSON value as segments: object keys and array indexes. */
export type PathSegments = readonly (string | number)[];

/** `spec.configPatches[0].patch.value.typed_config` — how paths read in messages. */
export function formatPath(segments: PathSegments): string {
  let text = '';
  for (const segment of segments) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_@$][\w@$-]*$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/** RFC 6901 JSON Pointer, as recorded in the placeholder-paths annotation. */
export function toJsonPointer(segments: PathSegments): string {
  let pointer = '';
  for (const segment of segments) {
    if (typeof segment === 'number') pointer += `/${segment}`;
    else pointer += '/' + (segment.includes('~') || segment.includes('/') ? segment.replaceAll('~', '~0').replaceAll('/', '~1') : segment);
  }
  return pointer;
}

export function fromJsonPointer(pointer: string): string[] | undefined {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return undefined;
  return pointer.slice(1).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** The value at `segments` under `root` (an array only by index); undefined where the path leaves the value. */
export function valueAtSegments(root: unknown, segments: readonly (string | number)[]): unknown {
  let value = root;
  for (const segment of segments) {
    if (Array.isArray(value)) {
      if (!/^\d+$/.test(String(segment))) return undefined;
      value = value[Number(segment)];
    } else if (value !== null && typeof value === 'object' && Object.hasOwn(value, segment)) {
      value = (value as Record<string | number, unknown>)[segment];
    } else {
      return undefined;
    }
  }
  return value;
}
