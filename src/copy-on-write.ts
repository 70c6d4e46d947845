import { toJsonPointer, type PathSegments } from './json-path.ts';

/** One RFC 6902 operation of the two kinds a mutation makes: it adds and replaces, never removes or moves. */
export interface PatchOperation {
  op: 'add' | 'replace';
  path: string;
  /** Shared with the result: read-only. */
  value: unknown;
}

interface Change {
  segments: PathSegments;
  /** Relative to the original: `replace` when the key (or index) was there, `add` when it was not. */
  op: 'add' | 'replace';
}

/**
 * A changed copy of a JSON value that shares every part it did not change with the original: only the objects and
 * lists on the way to a change are copied (shallowly), once each. A mutation then costs what it touches, not the
 * whole object (a structuredClone of every admitted object was the webhook's largest cost).
 * Every write goes through `set` or `append`, which record where they wrote, so the JSON patch from the original
 * to the result is read off that record (`patch()`) instead of found by diffing the two trees.
 * The original is never written to; treat both it and the copy as read-only afterwards.
 */
export class CopyOnWrite {
  readonly result: Record<string, unknown>;
  // A Set, not a WeakSet: it lives as long as one admission, and a Set answers in half the time.
  readonly #copies = new Set<object>();
  readonly #changes: Change[] = [];

  constructor(original: Record<string, unknown>) {
    this.result = { ...original };
    this.#copies.add(this.result);
  }

  /** The value at `segments` in the result; undefined when something on the way is missing or not a container. */
  get(segments: PathSegments): unknown {
    let value: unknown = this.result;
    for (const segment of segments) {
      if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment)) return undefined;
      value = (value as Record<string | number, unknown>)[segment];
    }
    return value;
  }

  /**
   * Sets the key (or list index) that ends `segments`. False, and nothing written, when a container on the way is
   * missing or not an object or list. Setting a key to the very value it holds is no change.
   */
  set(segments: PathSegments, value: unknown): boolean {
    const holder = this.#writable(segments.slice(0, -1));
    if (holder === undefined) return false;
    const key = segments[segments.length - 1];
    const present = Object.hasOwn(holder, key);
    if (present && holder[key] === value) return true;
    holder[key] = value;
    this.#changes.push({ segments, op: present ? 'replace' : 'add' });
    return true;
  }

  /** Appends to the list at `segments`. False, and nothing written, when there is no list there. */
  append(segments: PathSegments, value: unknown): boolean {
    const list = this.#writable(segments);
    if (!Array.isArray(list)) return false;
    this.#changes.push({ segments: [...segments, list.length], op: 'add' });
    list.push(value);
    return true;
  }

  /**
   * The RFC 6902 patch that turns the original into the result, applied in order. A change inside a value that a
   * change of its own container set is carried by that container's value (read from the result, so it holds
   * every later write), and a path set twice is one operation, its kind decided by the original. Linear in the
   * changes times their depth: an object may carry the token in thousands of strings.
   */
  patch(): PatchOperation[] {
    const pointers = this.#changes.map((change) => toJsonPointer(change.segments));
    const firstAt = new Map<string, number>();
    pointers.forEach((pointer, index) => {
      if (!firstAt.has(pointer)) firstAt.set(pointer, index);
    });
    const operations: PatchOperation[] = [];
    this.#changes.forEach((change, index) => {
      if (firstAt.get(pointers[index]) !== index || insideAChangedValue(change.segments, firstAt)) return;
      operations.push({ op: change.op, path: pointers[index], value: this.get(change.segments) });
    });
    return operations;
  }

  /**
   * The object or list at `segments` in the result, copied (with every container above it) if not copied already,
   * so its entries may be set. Undefined when something on the way is not an object or list.
   */
  #writable(segments: PathSegments): Record<string | number, unknown> | undefined {
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

/** Whether a container above `segments` was itself set (its pointer is among the changed ones). */
function insideAChangedValue(segments: PathSegments, changed: ReadonlyMap<string, number>): boolean {
  let pointer = '';
  for (let i = 0; i < segments.length - 1; i++) {
    pointer += toJsonPointer([segments[i]]);
    if (changed.has(pointer)) return true;
  }
  return false;
}
