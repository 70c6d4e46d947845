/**
 * The JSON schema of the AdmissionReview answer (src/admission/admission-response.ts), given to Fastify as the
 * 200 response schema of /mutate and /validate so fast-json-stringify writes the answer from it instead of
 * JSON.stringify. It only serialises (nothing is validated), and a property missing here would be dropped from
 * every answer: test/server/admission-review-schema.test.ts sends an answer with every property through it.
 */
export const ADMISSION_REVIEW_RESPONSE_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'response'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    response: {
      type: 'object',
      required: ['uid', 'allowed'],
      properties: {
        uid: { type: 'string' },
        allowed: { type: 'boolean' },
        status: {
          type: 'object',
          required: ['code', 'message'],
          properties: { code: { type: 'integer' }, message: { type: 'string' } },
        },
        warnings: { type: 'array', items: { type: 'string' } },
        patchType: { type: 'string' },
        // Base64 (A-Z a-z 0-9 + / =) never needs escaping, and the patch is most of a mutating answer's bytes: fast-json-stringify
        // writes an `unsafe` string as it is instead of testing it (42k -> 19k instructions for an 8-rule HTTPRoute's answer).
        patch: { type: 'string', format: 'unsafe' },
      },
    },
  },
} as const;

/** The body of every 4xx answer: what was wrong, never the request's contents. */
export const BAD_REQUEST_SCHEMA = {
  type: 'object',
  required: ['error', 'reason'],
  properties: { error: { type: 'string' }, reason: { type: 'string' } },
} as const;
