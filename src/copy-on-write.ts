/**
 * A changed copy of a JSON value that shares every part it did not change with the original: only the objects and
 * lists on the way to a change are copied (shallowly), once each. A mutation then costs what it touches, not the
 * whole object (a structuredClone of every admitted object was the webhook's largest cost), and fast-json-patch's
 * compare skips the shared subtrees (it returns at once where both sides are the same object).
 * The original is never written to; treat both it and the copy as read-only afterwards.
 */
export class CopyOnWrite {
  readonly result: Record<string, unknown>;
  // A Set, not a WeakSet: it lives as long as one admission, and a Set answers in half the time.
  readonly #copies = new Set<object>();

  constructor(original: Record<string, unknown>) {
    this.result = { ...original };
    this.#copies.add(this.result);
  }

  /**
   * The object or list at `segments` in the result, copied (with every container above it) if not copied already,
   * so the caller may set its entries. Undefined when something on the way is not an object or list.
   */
  writable(segments: readonly (string | number)[]): Record<string | number, unknown> | undefined {
    let holder = this.result as Record<string | number, unknown>;
    for (const segment of segments) {
      const child = holder[segment];
      if (typeof child !== 'object' || child === null) return undefined;
      if (this.#copies.has(child)) {
        holder = child as Record<string | number, unknown>;
        continue;
      }
      const copy = Array.isArray(child) ? child.slice() : { ...child };
      this.#copies.add(copy);
      holder[segment] = copy;
      holder = copy as Record<string | number, unknown>;
    }
    return holder;
  }
}
