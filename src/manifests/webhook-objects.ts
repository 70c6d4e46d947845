import { groupOf, handledKind, type HandledKind } from '../admission/handled-kinds.ts';
import { isObject, type JsonObject } from '../json-value.ts';

/** kubectl applies the items of any *List one by one; the webhook never sees the List itself. */
export function isList(document: unknown): document is JsonObject & { kind: string; items: unknown[] } {
  return isObject(document) && typeof document.kind === 'string' && document.kind.endsWith('List') && Array.isArray(document.items);
}

/** The kind the webhook acts on, if `object` is one. */
export function kindOf(object: unknown): HandledKind | undefined {
  if (!isObject(object) || typeof object.kind !== 'string') return undefined;
  return handledKind(groupOf(object.apiVersion), object.kind);
}

/**
 * A List's item as kubectl sends it. The items of a typed list (an EnvoyFilterList, as the API returns it) carry no
 * apiVersion and kind of their own: kubectl's decoder gives them the list's.
 */
export function listItem(list: JsonObject & { kind: string }, item: unknown): unknown {
  if (!isObject(item) || item.kind !== undefined || list.kind === 'List') return item;
  return { apiVersion: list.apiVersion, kind: list.kind.slice(0, -'List'.length), ...item };
}

/** What of a document the apiserver would send the webhook: an EnvoyFilter, HTTPRoute or DestinationRule, or those among a List's items. */
export function webhookObjects(document: unknown): unknown[] {
  if (isList(document)) return document.items.map((item) => listItem(document, item)).filter((item) => kindOf(item) !== undefined);
  return kindOf(document) === undefined ? [] : [document];
}
