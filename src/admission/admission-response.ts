import type { Verdict } from './verdict.ts';

/**
 * The AdmissionReview v1 answer the apiserver expects, as JSON: uid echoed, a denial's status, warnings, and an
 * allowed change as a base64 JSONPatch. Written in one template, as the answer's shape is fixed: no serialiser's
 * per-property work, and no escaping pass over the base64 (it holds only A-Z a-z 0-9 + / =). Every other string
 * goes through JSON.stringify.
 */
export function admissionResponseJson(uid: string, verdict: Verdict): string {
  let response = `{"uid":${JSON.stringify(uid)},"allowed":${verdict.allowed}`;
  if (!verdict.allowed) response += `,"status":{"code":${JSON.stringify(verdict.code ?? 403)},"message":${JSON.stringify(verdict.message ?? 'denied')}}`;
  if (verdict.warnings.length > 0) response += `,"warnings":${JSON.stringify(verdict.warnings)}`;
  if (verdict.allowed && verdict.patch) response += `,"patchType":"JSONPatch","patch":"${Buffer.from(JSON.stringify(verdict.patch)).toString('base64')}"`;
  return `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":${response}}}`;
}
