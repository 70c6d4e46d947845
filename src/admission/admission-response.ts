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
