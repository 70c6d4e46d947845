import { toJsonPointer } from '../json-path.ts';

/** The JSON Pointer of an annotation: `/metadata/annotations/epp-webhook.io~1resolved-cluster-ip`. */
export function annotationPointer(annotation: string): string {
  return toJsonPointer(['metadata', 'annotations', annotation]);
}

export const RESOURCE_VERSION_POINTER = '/metadata/resourceVersion';
