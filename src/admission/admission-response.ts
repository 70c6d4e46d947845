import type { Verdict } from './verdict.ts';

/** The AdmissionReview v1 answer the apiserver expects: uid echoed, patch base64 JSONPatch, warnings. */
export function admissionResponse(uid: string, verdict: Verdict): object {
  const response: Record<string, unknown> = { uid, allowed: verdict.allowed };
  if (!verdict.allowed) response.status = { code: verdict.code ?? 403, message: verdict.message ?? 'denied' };
  if (verdict.warnings.length > 0) response.warnings = verdict.warnings;
  if (verdict.allowed && verdict.patch) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(verdict.patch)).toString('base64');
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

/**
 * admissionResponse's JSON, written in one template: the answer's shape is fixed, so the server needs neither a
 * serialiser's per-property work nor an escaping pass over the base64 patch (it holds only A-Z a-z 0-9 + / =).
 * Every other string goes through JSON.stringify. The property test requires `JSON.stringify(admissionResponse(...))`,
 * byte for byte.
 */
export function admissionResponseJson(uid: string, verdict: Verdict): string {
  let response = `{"uid":${JSON.stringify(uid)},"allowed":${verdict.allowed}`;
  if (!verdict.allowed) response += `,"status":{"code":${JSON.stringify(verdict.code ?? 403)},"message":${JSON.stringify(verdict.message ?? 'denied')}}`;
  if (verdict.warnings.length > 0) response += `,"warnings":${JSON.stringify(verdict.warnings)}`;
  if (verdict.allowed && verdict.patch) response += `,"patchType":"JSONPatch","patch":"${Buffer.from(JSON.stringify(verdict.patch)).toString('base64')}"`;
  return `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":${response}}}`;
}
