import { isObject, jsonType } from '../json-value.ts';

/** The part of an AdmissionReview v1 request the webhook reads. */
export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  namespace?: string;
  name?: string;
  object: unknown;
  /** The stored object, on UPDATE (and DELETE); absent otherwise. */
  oldObject?: unknown;
  dryRun?: boolean;
  /** The writer's field manager (request.options: Create-, Update- or PatchOptions), where it named one. */
  fieldManager?: string;
}

export type ParsedReview = { ok: true; request: AdmissionRequest } | { ok: false; reason: string };

const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** Checks a decoded body is an AdmissionReview v1 with a request the webhook can answer; the reason says what is missing. */
export function parseAdmissionReview(body: unknown): ParsedReview {
  if (!isObject(body)) return { ok: false, reason: 'the body must be a JSON object (an AdmissionReview)' };
  if (body.apiVersion !== 'admission.k8s.io/v1' || body.kind !== 'AdmissionReview') {
    return { ok: false, reason: 'expected apiVersion admission.k8s.io/v1 and kind AdmissionReview (set admissionReviewVersions: [v1])' };
  }
  const request = body.request;
  if (!isObject(request)) return { ok: false, reason: 'the AdmissionReview has no request object' };
  if (typeof request.uid !== 'string' || request.uid === '') return { ok: false, reason: 'request.uid must be a non-empty string' };
  const kind = request.kind;
  if (!isObject(kind) || typeof kind.kind !== 'string' || typeof kind.version !== 'string' || (kind.group !== undefined && typeof kind.group !== 'string')) {
    return { ok: false, reason: 'request.kind must be an object with string group, version and kind' };
  }
  if (typeof request.operation !== 'string' || !OPERATIONS.includes(request.operation)) {
    return { ok: false, reason: `request.operation must be one of ${OPERATIONS.join(', ')}` };
  }
  // kube-apiserver always sends the object on CREATE and UPDATE; without it there is nothing to judge.
  if ((request.operation === 'CREATE' || request.operation === 'UPDATE') && !isObject(request.object)) {
    return { ok: false, reason: `request.object must be the object being admitted (a JSON object) on ${request.operation} but is ${jsonType(request.object)}` };
  }
  return {
    ok: true,
    request: {
      uid: request.uid,
      kind: { group: (kind.group as string | undefined) ?? '', version: kind.version, kind: kind.kind },
      operation: request.operation as AdmissionRequest['operation'],
      ...(typeof request.namespace === 'string' ? { namespace: request.namespace } : {}),
      ...(typeof request.name === 'string' ? { name: request.name } : {}),
      object: request.object,
      ...(request.oldObject !== undefined && request.oldObject !== null ? { oldObject: request.oldObject } : {}),
      ...(typeof request.dryRun === 'boolean' ? { dryRun: request.dryRun } : {}),
      ...(isObject(request.options) && typeof request.options.fieldManager === 'string' ? { fieldManager: request.options.fieldManager } : {}),
    },
  };
}
