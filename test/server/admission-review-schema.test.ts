import t from 'tap';
import Fastify from 'fastify';
import { admissionResponse } from '../../src/admission/admission-response.ts';
import { ADMISSION_REVIEW_RESPONSE_SCHEMA, BAD_REQUEST_SCHEMA } from '../../src/server/admission-review-schema.ts';

// fast-json-stringify writes only what the schema names: an answer property missing from it would vanish silently.
t.test('every property of an answer survives the response schema, byte for byte as JSON.stringify writes it', async (t) => {
  const answers = {
    'allowed with warnings and a patch': admissionResponse('uid-"1"\n', {
      allowed: true,
      warnings: ['[EPP305] a warning with "quotes", a \\ and a\ttab', 'ünïcödé \u2028 line separator'],
      findings: [],
      // The schema writes the patch unescaped (base64 needs none): a value that JSON would escape must still come out equal.
      patch: [{ op: 'add', path: '/metadata/annotations', value: { 'epp-webhook.io/resolved-cluster-ip': '10.96.183.7', note: 'ünï "q" \\ \u2028' } }],
    }),
    'denied, temporary': admissionResponse('uid-2', { allowed: false, code: 503, message: 'EnvoyFilter a/b: cannot be admitted right now\n[EPP104] ...', warnings: ['w'], findings: [] }),
    'allowed, nothing to say': admissionResponse('uid-3', { allowed: true, warnings: [], findings: [] }),
  };
  const app = Fastify();
  app.post('/answer/:which', { schema: { response: { 200: ADMISSION_REVIEW_RESPONSE_SCHEMA, '4xx': BAD_REQUEST_SCHEMA } } }, async (request, reply) => {
    const which = (request.params as { which: string }).which;
    if (which === 'bad') return reply.code(400).send({ error: 'Bad Request', reason: 'the body is not valid JSON' });
    return answers[which as keyof typeof answers];
  });
  for (const [which, answer] of Object.entries(answers)) {
    const response = await app.inject({ method: 'POST', url: `/answer/${encodeURIComponent(which)}` });
    t.equal(response.body, JSON.stringify(answer), which);
  }
  const bad = await app.inject({ method: 'POST', url: '/answer/bad' });
  t.equal(bad.body, JSON.stringify({ error: 'Bad Request', reason: 'the body is not valid JSON' }), 'a 4xx answer keeps its reason');
  await app.close();
});
