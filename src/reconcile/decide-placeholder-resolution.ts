import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { SubstitutionResult } from '../envoyfilter/substitute-cluster-ip.ts';
import { valueAt } from '../envoyfilter/substitute-cluster-ip.ts';
import { formatFinding } from '../findings.ts';
import { RESOURCE_VERSION_POINTER } from './annotation-pointer.ts';
import { provenanceOf } from './envoyfilter-record.ts';

/** What to do about an EnvoyFilter stored with the raw token, given what the webhook's core makes of it. */
export type PlaceholderResolution =
  /** clusterIP undefined: only EPP_SERVICE_PORT was in it. */
  | { kind: 'resolve'; service: string; clusterIP: string | undefined; port: number | undefined; paths: string[]; patch: Operation[] }
  | { kind: 'unchanged'; why: string }
  | { kind: 'service-missing'; why: string }
  | { kind: 'wait'; why: string }
  /** The core refuses (a reference it may not follow, a malformed annotation): the object stays as it is. */
  | { kind: 'unresolvable'; why: string };

/**
 * `substitution` is substituteClusterIP's answer for `original` (the whole stored object): the same code the
 * mutating webhook runs, so the reconciler stores exactly what admission would have. The patch is the diff,
 * guarded by `test` ops on the resourceVersion and on every value it replaces.
 */
export function decidePlaceholderResolution(original: unknown, substitution: SubstitutionResult): PlaceholderResolution {
  if (substitution.substitutions > 0) {
    const provenance = provenanceOf(substitution.object);
    if (provenance === undefined) throw new Error('substituteClusterIP substituted without recording provenance');
    return {
      kind: 'resolve',
      service: provenance.service,
      clusterIP: provenance.clusterIP,
      port: provenance.port?.port,
      paths: [...provenance.paths, ...(provenance.port?.paths ?? [])],
      patch: guardedPatch(original, substitution.object),
    };
  }
  const problem = substitution.findings.find((f) => f.severity === 'deny') ?? substitution.findings[0];
  if (problem === undefined) return { kind: 'unchanged', why: 'no placeholder token left' };
  switch (problem.code) {
    case 'EPP104':
      return { kind: 'wait', why: problem.message };
    case 'EPP101':
    case 'EPP102':
    case 'EPP109':
    case 'EPP110':
      return { kind: 'service-missing', why: problem.message };
    default:
      return { kind: 'unresolvable', why: formatFinding(problem) };
  }
}

/** The diff from `original` to `result`, with `test` ops so it applies only to the object it was computed from. */
export function guardedPatch(original: unknown, result: unknown): Operation[] {
  const resourceVersion = valueAt(original, RESOURCE_VERSION_POINTER);
  const operations: Operation[] = [{ op: 'test', path: RESOURCE_VERSION_POINTER, value: resourceVersion }];
  for (const operation of jsonpatch.compare(original as object, result as object)) {
    if (operation.op === 'replace') operations.push({ op: 'test', path: operation.path, value: valueAt(original, operation.path) });
    operations.push(operation);
  }
  return operations;
}
