/**
 * The answer's JSON as a tree's server writes it, from that tree's src/admission/admission-response.ts module: a
 * tree before round 11 has no admissionResponseJson, and its server serialised admissionResponse's object.
 */
export function answerJsonOf(module: Record<string, unknown>): (uid: string, verdict: unknown) => string {
  if (typeof module.admissionResponseJson === 'function') return module.admissionResponseJson as (uid: string, verdict: unknown) => string;
  const admissionResponse = module.admissionResponse as (uid: string, verdict: unknown) => object;
  return (uid, verdict) => JSON.stringify(admissionResponse(uid, verdict));
}
