/**
 * Limits checked on the raw JSON text before it is parsed. JSON.parse allocates every object and array first, so
 * a body within maxRequestBytes can still cost hundreds of MB: 7 MiB of `[],[],...` is 2.4 million arrays (about
 * 430 MB peak RSS, over deploy/'s 256Mi limit), and 3.6 million nested `[` exhaust a 192 MB heap in the parser.
 */
export const MAX_JSON_DEPTH = 10_000;
/**
 * Objects plus arrays in one AdmissionReview (object and oldObject together). Real EnvoyFilters have a few hundred,
 * a generated one a few thousand; 100,000 tiny objects peak at about 165 MB RSS in the server (490,000: 323 MB).
 */
export const MAX_JSON_CONTAINERS = 100_000;

export type JsonShapeProblem = { status: 400 | 413; reason: string };

/**
 * One pass over the text, counting nesting and containers outside strings: about 17 ms for 7 MiB, nothing for a
 * body no longer than the smaller limit (the review of a created object, usually; an update carries oldObject too). Most of a body is inside strings (every key, most values), so
 * strings are jumped over with indexOf rather than read a character at a time. Malformed text is left for
 * JSON.parse to report.
 * MAX_JSON_DEPTH is Go encoding/json's own limit, so a body from the apiserver never exceeds it.
 */
export function jsonShapeProblem(text: string, maxDepth = MAX_JSON_DEPTH, maxContainers = MAX_JSON_CONTAINERS): JsonShapeProblem | undefined {
  // Every container opens with a character of its own: a text this short cannot exceed either limit.
  if (text.length <= Math.min(maxDepth, maxContainers)) return undefined;
  let depth = 0;
  let containers = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
      if (i === -1) return undefined;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return { status: 400, reason: `the body nests more than ${maxDepth} levels deep, which no AdmissionReview from the apiserver does` };
      if (++containers > maxContainers) return { status: 413, reason: `the body holds more than ${maxContainers} JSON objects and arrays` };
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** The index of the quote that ends the string opened at `open`, or -1 when the text ends first. */
function closingQuote(text: string, open: number): number {
  let quote = text.indexOf('"', open + 1);
  while (quote !== -1) {
    // Escaped when an odd number of backslashes precede it.
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    quote = text.indexOf('"', quote + 1);
  }
  return -1;
}
