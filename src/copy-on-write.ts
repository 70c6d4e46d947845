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
  /** Made inside a value this copy had set (the operation of that value carries it). */
  inside: boolean;
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
  /**
   * Every object and list this copy made, true for those `set` or `append` wrote (each its own shallow copy, so its
   * identity names one place). A Map, not a WeakMap: it lives as long as one admission, and a Map answers in half
   * the time; one map, not two sets: every level of every write asks both questions at once.
   */
  readonly #copies = new Map<object, boolean>();
  readonly #changes: Change[] = [];
  /** Whether the last #writable walk passed through a value this copy had set. */
  #walkedThroughSetValue = false;

  constructor(original: Record<string, unknown>) {
    this.result = { ...original };
    this.#copies.set(this.result, false);
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
    const holder = this.#writable(segments, segments.length - 1);
    if (holder === undefined) return false;
    const key = segments[segments.length - 1];
    const present = Object.hasOwn(holder, key);
    if (present && holder[key] === value) return true;
    holder[key] = this.#own(value);
    this.#changes.push({ segments, op: present ? 'replace' : 'add', inside: this.#walkedThroughSetValue });
    return true;
  }

  /** Appends to the list at `segments`. False, and nothing written, when there is no list there. */
  append(segments: PathSegments, value: unknown): boolean {
    const list = this.#writable(segments, segments.length);
    if (!Array.isArray(list)) return false;
    this.#changes.push({ segments: [...segments, list.length], op: 'add', inside: this.#walkedThroughSetValue });
    list.push(this.#own(value));
    return true;
  }

  /**
   * The RFC 6902 patch that turns the original into the result, applied in order: one operation per path
   * written, its kind decided by the original, its value read from the result (so it holds every later write).
   * A change inside a value this copy had set is carried by that value's operation.
   */
  patch(): PatchOperation[] {
    const operations: PatchOperation[] = [];
    const written = new Set<string>();
    for (const change of this.#changes) {
      if (change.inside) continue;
      const path = toJsonPointer(change.segments);
      if (written.has(path)) continue;
      written.add(path);
      const value = this.get(change.segments);
      // Gone from the result: a later write of a container above it replaced it, and that write's operation says so.
      if (value !== undefined) operations.push({ op: change.op, path, value });
    }
    return operations;
  }

  /**
   * The object or list at the first `depth` of `segments` in the result, copied (with every container above it) if
   * not copied already, so its entries may be set. Undefined when something on the way is not an object or list.
   */
  #writable(segments: PathSegments, depth: number): Record<string | number, unknown> | undefined {
    this.#walkedThroughSetValue = false;
    let holder = this.result as Record<string | number, unknown>;
    for (let i = 0; i < depth; i++) {
      const segment = segments[i];
      const child = holder[segment];
      if (typeof child !== 'object' || child === null) return undefined;
      const ours = this.#copies.get(child);
      if (ours !== undefined) {
        // A value this copy set is its own copy already.
        if (ours) this.#walkedThroughSetValue = true;
        holder = child as Record<string | number, unknown>;
        continue;
      }
      const copy = Array.isArray(child) ? child.slice() : { ...child };
      this.#copies.set(copy, false);
      holder[segment] = copy;
      holder = copy as Record<string | number, unknown>;
    }
    return holder;
  }

  /** A container about to be written gets a shallow copy of its own, registered as set; anything else as it is. */
  #own(value: unknown): unknown {
    if (typeof value !== 'object' || value === null) return value;
    const own = Array.isArray(value) ? value.slice() : { ...value };
    this.#copies.set(own, true);
    return own;
  }
}
