import { jsonEqual } from '../json-equal.ts';
import { isObject } from '../json-value.ts';
import type { AdmissionRequest } from './admission-review.ts';

/**
 * An UPDATE of an object already being deleted that leaves its spec and annotations, everything the webhook reads, as
 * they were: a finalizer removed. After `kubectl delete --cascade=foreground` (Argo CD's default prune) the garbage
 * collector removes the `foregroundDeletion` finalizer with a PATCH, which reaches the webhooks as such an UPDATE; a
 * controller's own finalizer goes the same way. Judged, it is denied wherever the stored object now breaks a rule (stored
 * before the webhook was installed, while it failed open, under a laxer severity, or a pool route whose EnvoyFilters
 * changed since), and the object stays Terminating for good. It stores nothing new, so there is nothing to judge.
 * "Being deleted" is read from oldObject, the stored state, which the request cannot choose; a change to the spec or
 * the annotations of a terminating object is judged as any other. Compared however deep it nests: the depth limit is a
 * rule too, and a rule never holds a finalizer's removal.
 */
export function finishesDeletion(request: AdmissionRequest): boolean {
  if (request.operation !== 'UPDATE') return false;
  const { object, oldObject } = request;
  if (!isObject(object) || !isObject(oldObject) || !isObject(oldObject.metadata) || !isObject(object.metadata)) return false;
  if (typeof oldObject.metadata.deletionTimestamp !== 'string' || oldObject.metadata.deletionTimestamp === '') return false;
  return jsonEqual(object.spec, oldObject.spec) && jsonEqual(object.metadata.annotations, oldObject.metadata.annotations);
}
