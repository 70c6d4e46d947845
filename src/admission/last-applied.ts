import { annotationJson } from '../annotations.ts';
import { isObject, type JsonObject } from '../json-value.ts';

/** Where `kubectl apply` (client-side) keeps the manifest it applied, as JSON. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Keeps kubectl's last-applied-configuration in step with what the webhook stores. `kubectl apply --server-side`
 * takes over the fields kubectl-client-side-apply owns without a conflict only where that annotation agrees with the
 * live object (apimachinery's lastAppliedManager, manager "kubectl" only). With the token in the annotation and the
 * ClusterIP (or the injected ExtensionRef) in the live spec, `.spec.configPatches` (`.spec.rules`) would disagree and
 * the switch to server-side apply would fail with a conflict. So the annotation's `spec` gets the same mutation the
 * object's got. Its metadata is left alone: the webhook's own annotations are not the user's to have applied.
 *
 * `mutate` runs the webhook's mutation on the annotation's object; returns `mutated` with the annotation updated, or
 * `mutated` itself when there is no annotation, it is not this object's JSON (or longer than the apiserver lets an object
 * keep), or its spec does not change.
 */
export async function alignLastApplied(mutated: unknown, mutate: (lastApplied: unknown) => Promise<unknown>): Promise<unknown> {
  if (!isObject(mutated) || !isObject(mutated.metadata) || !isObject(mutated.metadata.annotations)) return mutated;
  const annotations = mutated.metadata.annotations;
  const text = annotations[LAST_APPLIED];
  if (typeof text !== 'string') return mutated;
  const lastApplied = /\d{16}/.test(text) ? exactJson(text) : annotationJson(text);
  if (!isObject(lastApplied) || lastApplied.kind !== mutated.kind || lastApplied.apiVersion !== mutated.apiVersion) return mutated;
  const aligned = await mutate(lastApplied);
  if (aligned === lastApplied || !isObject(aligned) || aligned.spec === lastApplied.spec) return mutated;
  const updated: JsonObject = { ...lastApplied, spec: aligned.spec };
  return {
    ...mutated,
    metadata: { ...mutated.metadata, annotations: { ...annotations, [LAST_APPLIED]: `${JSON.stringify(updated)}\n` } },
  };
}

type RawJson = (text: string) => unknown;
type SourceReviver = (key: string, value: unknown, context: { source?: string }) => unknown;

/**
 * The annotation parsed with each integer beyond 2^53 kept as written (JSON.rawJSON, which JSON.stringify writes back
 * verbatim): kubectl writes int64 values exactly, and a rounded one would make the annotation disagree with the live
 * object, the very conflict the alignment is there to prevent. Only for text with such a long run of digits.
 */
function exactJson(text: string): unknown {
  const raw = (JSON as unknown as { rawJSON: RawJson }).rawJSON;
  const keepExact: SourceReviver = (_key, value, context) =>
    typeof value === 'number' && !Number.isSafeInteger(value) && context.source !== undefined && /^-?\d+$/.test(context.source) ? raw(context.source) : value;
  return annotationJson(text, keepExact as (key: string, value: unknown) => unknown);
}
