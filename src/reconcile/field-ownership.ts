import type { Operation } from 'fast-json-patch';
import { isObject } from '../json-value.ts';
import { RESOURCE_VERSION_POINTER } from './annotation-pointer.ts';
import { FIELD_MANAGER } from './field-manager.ts';

const MANAGED_FIELDS_POINTER = '/metadata/managedFields';

/**
 * The reconciler's JSON patch is an Update by field manager `epp-webhook`, and an Update takes every field it changes
 * away from its owners. `.spec.configPatches` is one atomic list, so the whole list would become epp-webhook's, and
 * its owner's next server-side apply (`kubectl apply --server-side`, Argo CD, Flux, Helm 4) would conflict with
 * epp-webhook over the manifest it has always applied. Admission's substitution is the applier's own; the reconciler's
 * rewrite of the same value is given back the same way: once written, the object gets the managedFields it had before
 * the write (`before`, read at `writtenFrom`), less any `epp-webhook` entry an earlier version's write left.
 *
 * Undefined when `before` is not the object the write was made on: then its managedFields say nothing of the fields
 * the write took. An empty list is sent as `[{}]`, which clears managedFields: the API server ignores an empty one.
 */
export function handBackOwnership(before: unknown, writtenFrom: string, written: unknown): Operation[] | undefined {
  if (!isObject(before) || !isObject(before.metadata) || before.metadata.resourceVersion !== writtenFrom) return undefined;
  if (!isObject(written) || !isObject(written.metadata) || typeof written.metadata.resourceVersion !== 'string') return undefined;
  const entries = Array.isArray(before.metadata.managedFields) ? before.metadata.managedFields : [];
  const kept = entries.filter((entry) => !(isObject(entry) && entry.manager === FIELD_MANAGER));
  return [
    { op: 'test', path: RESOURCE_VERSION_POINTER, value: written.metadata.resourceVersion },
    { op: 'add', path: MANAGED_FIELDS_POINTER, value: kept.length > 0 ? kept : [{}] },
  ];
}

