/**
 * The body of every 4xx answer, given to Fastify as the 4xx response schema of /mutate and /validate: what was
 * wrong, never the request's contents. fast-json-stringify writes only what the schema names.
 */
export const BAD_REQUEST_SCHEMA = {
  type: 'object',
  required: ['error', 'reason'],
  properties: { error: { type: 'string' }, reason: { type: 'string' } },
} as const;
