import type { AdmissionRequest } from '../admission/admission-review.ts';
import type { Verdict } from '../admission/verdict.ts';

export type VerdictLabel = 'allowed' | 'denied' | 'passed';

/** The fields of the one info line per admission (README, Logs): names and outcome, never the object's body. */
export function admissionLogFields(endpoint: string, review: AdmissionRequest, verdict: Verdict, verdictLabel: VerdictLabel, seconds: number): object {
  return {
    endpoint,
    uid: review.uid,
    kind: review.kind.kind,
    namespace: review.namespace,
    name: review.name,
    operation: review.operation,
    dryRun: review.dryRun ?? false,
    verdict: verdictLabel,
    patched: verdict.patch !== undefined,
    codes: verdict.findings.map((f) => f.code),
    durationMs: Math.round(seconds * 1e6) / 1e3,
  };
}
