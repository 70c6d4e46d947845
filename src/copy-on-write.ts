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
   * The containers this copy made, as a tree of the paths they sit at: a write asks each level on its way whether the
   * container there is already this copy's own. A tree of the few places written, not a Map keyed by the containers:
   * keying by an object makes V8 give every container walked an identity hash, which cost more than the copying.
   */
  readonly #copied: CopiedContainer;
  readonly #changes: Change[] = [];
  /** Whether the last #writable walk passed through a value this copy had set. */
  #walkedThroughSetValue = false;

  constructor(original: Record<string, unknown>) {
    this.result = { ...original };
    this.#copied = newPlace('', this.result, false, undefined);
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
    const place = this.#writable(segments, segments.length - 1);
    if (place === undefined) return false;
    const holder = place.container;
    const key = segments[segments.length - 1];
    const present = Object.hasOwn(holder, key);
    if (present && holder[key] === value) return true;
    holder[key] = this.#own(place, key, value);
    this.#changes.push({ segments, op: present ? 'replace' : 'add', inside: this.#walkedThroughSetValue });
    return true;
  }

  /** Appends to the list at `segments`. False, and nothing written, when there is no list there. */
  append(segments: PathSegments, value: unknown): boolean {
    const place = this.#writable(segments, segments.length);
    const list = place?.container;
    if (!Array.isArray(list)) return false;
    this.#changes.push({ segments: [...segments, list.length], op: 'add', inside: this.#walkedThroughSetValue });
    list.push(this.#own(place!, list.length, value));
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
  #writable(segments: PathSegments, depth: number): CopiedContainer | undefined {
    this.#walkedThroughSetValue = false;
    let place = this.#copied;
    for (let i = 0; i < depth; i++) {
      const segment = segments[i];
      const child = place.container[segment];
      const known = placeAt(place, segment);
      // Ours only while the result still holds it there: a later write over that entry leaves the record behind.
      if (known !== undefined && known.container === child) {
        // A value this copy set is its own copy already.
        if (known.set) this.#walkedThroughSetValue = true;
        place = known;
        continue;
      }
      if (typeof child !== 'object' || child === null) return undefined;
      const copy = (Array.isArray(child) ? child.slice() : { ...child }) as Container;
      place.container[segment] = copy;
      place = record(place, segment, copy, false, known);
    }
    return place;
  }

  /** A container about to be written at `key` of `place` gets a shallow copy of its own, recorded as set; anything else as it is. */
  #own(place: CopiedContainer, key: string | number, value: unknown): unknown {
    if (typeof value !== 'object' || value === null) return value;
    const own = (Array.isArray(value) ? value.slice() : { ...value }) as Container;
    record(place, key, own, true, placeAt(place, key));
    return own;
  }
}

type Container = Record<string | number, unknown>;

/**
 * A container this copy made, at `key` of its parent. The children are a list, searched in place: a write path
 * rarely branches; a place with many (a list whose every entry was written) indexes them by key.
 */
interface CopiedContainer {
  key: string | number;
  container: Container;
  /** Written by `set` or `append` (its own shallow copy): a change inside it is carried by that write's operation. */
  set: boolean;
  children: CopiedContainer | undefined;
  next: CopiedContainer | undefined;
  childCount: number;
  byKey: Map<string, CopiedContainer> | undefined;
}

/** Children searched one by one before a place indexes them. */
const LISTED_CHILDREN = 8;

function newPlace(key: string | number, container: Container, set: boolean, next: CopiedContainer | undefined): CopiedContainer {
  return { key, container, set, children: undefined, next, childCount: 0, byKey: undefined };
}

/** Records `container` as this copy's own at `key` of `place`, in place of `known`, the record there before (if any). */
function record(place: CopiedContainer, key: string | number, container: Container, set: boolean, known: CopiedContainer | undefined): CopiedContainer {
  if (known !== undefined) {
    // What this copy made below the old container is gone from the result with it.
    Object.assign(known, { container, set, children: undefined, childCount: 0, byKey: undefined });
    return known;
  }
  const child = newPlace(key, container, set, place.children);
  place.children = child;
  if (place.byKey !== undefined) place.byKey.set(String(key), child);
  else if (++place.childCount > LISTED_CHILDREN) {
    place.byKey = new Map();
    for (let listed: CopiedContainer | undefined = child; listed !== undefined; listed = listed.next) place.byKey.set(String(listed.key), listed);
  }
  return child;
}

function placeAt(place: CopiedContainer, key: string | number): CopiedContainer | undefined {
  if (place.byKey !== undefined) return place.byKey.get(String(key));
  for (let child = place.children; child !== undefined; child = child.next) {
    // 0 and '0' name the same entry, as they do to a property access.
    if (child.key === key || (typeof child.key !== typeof key && String(child.key) === String(key))) return child;
  }
  return undefined;
}
