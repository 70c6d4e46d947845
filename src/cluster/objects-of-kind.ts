import { isObject, type JsonObject } from '../json-value.ts';

/**
 * The objects of `kind` among `objects` and among the items of Lists there (`kubectl get -A -o yaml` writes a List):
 * what a `--services` file or a set of manifests holds of one kind. Items of a typed list (`ServiceList`) may omit
 * their kind; in any other List an item without one is not known to be of `kind`.
 */
export function* objectsOfKind(objects: Iterable<unknown>, kind: string): Generator<JsonObject> {
  for (const object of objects) {
    if (!isObject(object)) continue;
    if (typeof object.kind === 'string' && object.kind.endsWith('List') && Array.isArray(object.items)) {
      const kindImplied = object.kind === `${kind}List`;
      for (const item of object.items) {
        if (isObject(item) && (item.kind === kind || (item.kind === undefined && kindImplied))) yield item;
      }
    } else if (object.kind === kind) {
      yield object;
    }
  }
}
