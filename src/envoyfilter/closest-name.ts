/** Spelling-insensitive form: `Request-Body_Mode` and `requestBodyMode` both read `requestbodymode`. */
export const fold = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * The name among `names` that `written` most likely meant (for a "did you mean"): the same letters in another
 * case or separator style, else the nearest by edit distance when it is close for its length.
 */
export function closestName(written: string, names: readonly string[]): string | undefined {
  const folded = fold(written);
  const same = names.find((n) => fold(n) === folded);
  if (same !== undefined) return same;
  // The abbreviations users write for request and response (resp_body_mode is nearer request_body_mode by edits).
  const expanded = fold(written.replace(/(^|[_\-.])req(?=[_\-.A-Z]|$)/g, '$1request').replace(/(^|[_\-.])resp(?=[_\-.A-Z]|$)/g, '$1response'));
  const abbreviated = names.find((n) => fold(n) === expanded);
  if (abbreviated !== undefined) return abbreviated;
  const accepted = Math.max(2, Math.floor(folded.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const candidate = fold(name);
    // Edits are at least the difference in length: a name that far off is never accepted, so its distance (quadratic
    // in the lengths) is not worked out. A key of a megabyte would otherwise hold the event loop for seconds.
    if (Math.abs(folded.length - candidate.length) > accepted) continue;
    const distance = editDistance(folded, candidate);
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  return bestDistance <= accepted ? best : undefined;
}

/** closestName, or else a field whose name `written` cuts short (`port` for port_value: too far for the edit distance). */
export function meantField(written: string, names: readonly string[]): string | undefined {
  const snake = written.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return closestName(written, names) ?? names.find((name) => name.startsWith(`${snake}_`));
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
