/**
 * Whether two decoded JSON values are equal, key order aside. Iterative: a body may nest 10,000 levels (json-shape.ts),
 * and a recursive compare (util.isDeepStrictEqual) overflows the stack somewhere past 2,000.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  const left: unknown[] = [a];
  const right: unknown[] = [b];
  while (left.length > 0) {
    const x = left.pop();
    const y = right.pop();
    if (x === y) continue;
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null || Array.isArray(x) !== Array.isArray(y)) return false;
    if (Array.isArray(x)) {
      if (x.length !== (y as unknown[]).length) return false;
      // A loop, not push(...x): spread, an array of a million numbers overflows the stack as arguments.
      for (let i = 0; i < x.length; i++) {
        left.push(x[i]);
        right.push((y as unknown[])[i]);
      }
      continue;
    }
    const keys = Object.keys(x);
    if (keys.length !== Object.keys(y).length) return false;
    for (const key of keys) {
      if (!Object.hasOwn(y, key)) return false;
      left.push((x as Record<string, unknown>)[key]);
      right.push((y as Record<string, unknown>)[key]);
    }
  }
  return true;
}
