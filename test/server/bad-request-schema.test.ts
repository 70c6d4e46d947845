import t from 'tap';
import Fastify from 'fastify';
import { BAD_REQUEST_SCHEMA } from '../../src/server/bad-request-schema.ts';

// fast-json-stringify writes only what the schema names: a property missing from it would vanish silently.
t.test('a 4xx answer keeps its error and reason through the response schema, byte for byte as JSON.stringify writes them', async (t) => {
  const app = Fastify();
  const body = { error: 'Bad Request', reason: 'the body is not "valid" JSON\n(\u2028 ünï)' };
  app.post('/bad', { schema: { response: { '4xx': BAD_REQUEST_SCHEMA } } }, async (_request, reply) => reply.code(400).send(body));
  const bad = await app.inject({ method: 'POST', url: '/bad' });
  t.equal(bad.statusCode, 400);
  t.equal(bad.body, JSON.stringify(body));
  await app.close();
});
