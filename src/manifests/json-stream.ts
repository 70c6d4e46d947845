/**
 * Where each value of a stream of JSON objects or arrays sits (`[start, end)` offsets): what `render -o json`, `jq -c`
 * and `kubectl get -o json` of several objects print, and kubectl reads, but YAML does not (two flow mappings with no
 * `---` between them). Undefined unless the text is two or more such values and whitespace: one value is plain YAML,
 * and anything else is left to the YAML parser to report.
 */
export function splitJsonStream(text: string): [number, number][] | undefined {
  const values: [number, number][] = [];
  let i = skipWhitespace(text, 0);
  while (i < text.length) {
    const open = text[i];
    if (open !== '{' && open !== '[') return undefined;
    const end = endOfValue(text, i);
    if (end === undefined) return undefined;
    values.push([i, end]);
    i = skipWhitespace(text, end);
  }
  return values.length > 1 ? values : undefined;
}

/** The offset after the object or array opening at `start`, or undefined when it never closes. */
function endOfValue(text: string, start: number): number | undefined {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) return i + 1;
  }
  return undefined;
}

function skipWhitespace(text: string, from: number): number {
  let i = from;
  while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  return i;
}
