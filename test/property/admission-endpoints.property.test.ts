/**
 * Random and mutated AdmissionReviews against the real server: over HTTPS on loopback, and through
 * app.inject (same app, no sockets) for volume. Every answer is a well-formed AdmissionReview or a 4xx with
 * a reason; never a 5xx, a hang or a crash; no prototype is polluted.
 */
import t from 'tap';
import fc from 'fast-check';
import { Agent, request } from 'node:https';
import { startWebhookUnderTest, type WebhookUnderTest } from '../helpers/webhook-under-test.ts';
import { admittedObject, applyMutation, jsonCopy, jsonValue, mutation, params, PROTO_KEYS, prototypeSnapshot, scalar, text, withKey } from './arbitraries.ts';
import { answerProblem, type Answer } from './check-answer.ts';
import { pools, v1Pool } from '../helpers/inference-pools.ts';

const KINDS = [
  { group: 'networking.istio.io', version: 'v1alpha3', kind: 'EnvoyFilter' },
  { group: 'networking.istio.io', version: 'v1', kind: 'EnvoyFilter' },
  { group: 'gateway.networking.k8s.io', version: 'v1', kind: 'HTTPRoute' },
  { group: 'networking.istio.io', version: 'v1', kind: 'DestinationRule' },
  { group: '', version: 'v1', kind: 'ConfigMap' },
];

/** An AdmissionReview envelope around a (mutated) object, itself mutated at times. */
const review = fc
  .record({
    uid: fc.oneof(fc.uuid(), text),
    kind: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...KINDS) }, { weight: 1, arbitrary: jsonValue }),
    operation: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT') }, { weight: 1, arbitrary: scalar }),
    namespace: fc.option(fc.oneof(fc.constantFrom('llm-d-inference-scheduler', 'team-b'), scalar), { nil: undefined }),
    object: admittedObject,
    dryRun: fc.option(fc.oneof(fc.boolean(), scalar), { nil: undefined }),
    envelope: fc.array(mutation, { maxLength: 2 }),
    mutateEnvelope: fc.boolean(),
  })
  .map(({ envelope, mutateEnvelope, ...r }) => {
    const body: unknown = jsonCopy({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...r, oldObject: r.operation === 'UPDATE' ? r.object : null } });
    return mutateEnvelope ? envelope.reduce<unknown>((b, m) => applyMutation(b, m), body) : body;
  });

/** What goes on the wire: a review, any JSON at all, or text that is not JSON (a review cut short, unicode). */
const wireBody = fc.oneof(
  { weight: 8, arbitrary: review.map((r) => ({ text: JSON.stringify(r), uid: (r as any)?.request?.uid })) },
  { weight: 1, arbitrary: jsonValue.map((v) => ({ text: JSON.stringify(v) ?? 'null', uid: undefined })) },
  { weight: 1, arbitrary: fc.tuple(review, fc.nat()).map(([r, cut]) => { const s = JSON.stringify(r); return { text: s.slice(0, cut % (s.length + 1)), uid: undefined }; }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((s) => ({ text: s, uid: undefined })) },
  // Prototype keys at the top and in the request, as own keys of the JSON text.
  { weight: 1, arbitrary: fc.tuple(review, fc.constantFrom(...PROTO_KEYS), jsonValue).map(([r, k, v]) => {
    const body = jsonCopy(r) as any;
    if (body?.request && typeof body.request === 'object') withKey(body.request, k, k === 'constructor' ? { prototype: v } : v);
    return { text: JSON.stringify(withKey(body && typeof body === 'object' ? body : {}, k, { polluted: true })), uid: undefined };
  }) },
);
const endpoint = fc.constantFrom('/mutate', '/validate');

let webhook: WebhookUnderTest;
let agent: Agent;
t.before(async () => {
  // A pool whose EPP the fixtures' DestinationRule names, so its rule runs on every mutation of it.
  webhook = await startWebhookUnderTest({ pools: pools(v1Pool('gaie-inference-scheduling', { name: 'gaie-inference-scheduling-epp', port: { number: 9002 } }, 'llm-d-inference-scheduler')) });
  agent = new Agent({ keepAlive: true, maxSockets: 4 });
});
t.teardown(async () => {
  agent.destroy();
  await webhook.server.close();
});

function overHttps(path: string, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${webhook.url}${path}`, { method: 'POST', ca: webhook.ca, agent, servername: 'localhost', headers: { 'content-type': 'application/json' }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}

const counts: Record<string, number> = {};
const tally = (key: string) => (counts[key] = (counts[key] ?? 0) + 1);
const outcome = (a: Answer) => (a.status === 200 ? (JSON.parse(a.text).response.allowed ? '200 allowed' : `200 denied ${JSON.parse(a.text).response.status.code}`) : String(a.status));

t.test('over HTTPS: any body gets an AdmissionReview or a 4xx with a reason', async (t) => {
  const before = prototypeSnapshot();
  let cases = 0;
  await fc.assert(
    fc.asyncProperty(wireBody, endpoint, async (body, path) => {
      cases++;
      const answer = await overHttps(path, body.text);
      tally(`https ${outcome(answer)}`);
      const problem = answerProblem(answer, body.uid);
      if (problem !== undefined) throw new Error(`${path}: ${problem}`);
      if (prototypeSnapshot() !== before) throw new Error('a prototype was polluted');
    }),
    params(400),
  );
  t.equal(prototypeSnapshot(), before, 'no prototype pollution');
  const health = await overHttps('/mutate', '{}');
  t.equal(health.status, 400, 'the server still answers');
  t.comment(`property cases over HTTPS: ${cases}`);
});

t.test('through app.inject: the same property, at volume', async (t) => {
  const before = prototypeSnapshot();
  let cases = 0;
  await fc.assert(
    fc.asyncProperty(wireBody, endpoint, async (body, path) => {
      cases++;
      const response = await webhook.server.app.inject({ method: 'POST', url: path, payload: body.text, headers: { 'content-type': 'application/json' } });
      const answer = { status: response.statusCode, text: response.body };
      tally(`inject ${outcome(answer)}`);
      const problem = answerProblem(answer, body.uid);
      if (problem !== undefined) throw new Error(`${path}: ${problem}`);
      if (prototypeSnapshot() !== before) throw new Error('a prototype was polluted');
    }),
    params(3000),
  );
  t.equal(prototypeSnapshot(), before, 'no prototype pollution');
  t.comment(`property cases through app.inject: ${cases}`);
  t.comment(`outcomes: ${JSON.stringify(counts)}`);
  // The generators must reach every kind of answer, or the property proves little.
  for (const kind of ['200 allowed', '200 denied 403', '400']) t.ok(Object.keys(counts).some((k) => k.endsWith(kind)), `some cases answered ${kind}`);
});
