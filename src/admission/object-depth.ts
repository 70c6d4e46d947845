import type { PathSegments } from '../json-path.ts';
import { isContainer, isObject } from '../json-value.ts';

/**
 * How deep an admitted object may nest. Real EnvoyFilters and HTTPRoutes nest a few dozen levels at most
 * (the deepest fixture: 14); the core's walks, structuredClone and fast-json-patch's compare recurse, and
 * overflow the stack somewhere past 1,500 levels. The limit sits far from both.
 */
export const MAX_OBJECT_DEPTH = 256;

/** Nesting the recursive pre-test may follow: far inside Node's default stack (about 10,000 frames of it). */
const RECURSION_SAFE_LIMIT = 1_000;

interface Level {
  container: object;
  keys: readonly (string | number)[] | undefined;
  length: number;
  next: number;
}

/**
 * The path to the first container nested deeper than `limit` (the root object is level 1), or undefined.
 * Iterative, one entry per level (never more than `limit` + 1): a 10,000-level value is measured without
 * recursion, and a wide one without memory that grows with its width.
 */
export function pathBeyondDepth(value: unknown, limit: number = MAX_OBJECT_DEPTH): PathSegments | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  // Every admission passes through here and real objects are shallow: a plain recursive test (its depth bounded by
  // `limit`) is 3-5 times cheaper than the walk below, which then only runs to name the path of a deep one. Past
  // RECURSION_SAFE_LIMIT the test itself could overflow the stack, so the walk alone decides.
  if (limit <= RECURSION_SAFE_LIMIT && !nestsDeeperThan(value, limit - 1)) return undefined;
  const levels: Level[] = [];
  const enter = (container: object): void => {
    const keys = Array.isArray(container) ? undefined : Object.keys(container);
    levels.push({ container, keys, length: keys === undefined ? (container as unknown[]).length : keys.length, next: 0 });
  };
  enter(value);
  while (levels.length > 0) {
    if (levels.length > limit) return levels.slice(1).map((_, i) => keyAt(levels[i], levels[i].next - 1));
    const level = levels[levels.length - 1];
    if (level.next >= level.length) {
      levels.pop();
      continue;
    }
    const key = keyAt(level, level.next++);
    const child = (level.container as Record<string | number, unknown>)[key];
    if (isContainer(child)) enter(child);
  }
  return undefined;
}

/** True when `container` holds a container more than `levels` levels below it (a child is 1 below); at most `levels` + 2 calls deep. */
function nestsDeeperThan(container: object, levels: number): boolean {
  if (levels < 0) return true;
  if (Array.isArray(container)) {
    for (const child of container as unknown[]) if (isContainer(child) && nestsDeeperThan(child, levels - 1)) return true;
    return false;
  }
  for (const key in container) {
    const child = (container as Record<string, unknown>)[key];
    if (isContainer(child) && nestsDeeperThan(child, levels - 1)) return true;
  }
  return false;
}

/**
 * pathBeyondDepth over the parts of an object the core may walk: everything but `metadata.managedFields`, which
 * the apiserver writes and the core never reads (on a server-side apply it mirrors the whole object, so skipping it
 * halves the test on every admission).
 */
export function walkedPathBeyondDepth(object: unknown, limit: number = MAX_OBJECT_DEPTH): PathSegments | undefined {
  if (!isObject(object) || limit < 3) return pathBeyondDepth(object, limit);
  for (const key in object) {
    const child = object[key];
    if (key !== 'metadata' || !isObject(child)) {
      const beyond = pathBeyondDepth(child, limit - 1);
      if (beyond !== undefined) return [key, ...beyond];
      continue;
    }
    for (const field in child) {
      if (field === 'managedFields') continue;
      const beyond = pathBeyondDepth(child[field], limit - 2);
      if (beyond !== undefined) return [key, field, ...beyond];
    }
  }
  return undefined;
}

function keyAt(level: Level, index: number): string | number {
  return level.keys === undefined ? index : level.keys[index];
}
