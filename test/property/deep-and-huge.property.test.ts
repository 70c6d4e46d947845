/**
 * Deep and huge input over real HTTPS. 10,000 levels used to overflow the core's recursion (the answer was a
 * `code: 500` "this is a bug" denial); 3.6 million levels, or 2.4 million empty arrays in 7 MiB, ran the 192 MB
 * heap of deploy/ out of memory and killed the process. Now: objects deeper than 256 levels are denied with a
 * reason (EPP307/EPP403), bodies deeper than 10,000 levels or with more than 100,000 objects and arrays are
 * refused before parsing (400/413), and the server keeps answering.
 */
import t from 'tap';
import fc from 'fast-check';
import { MAX_OBJECT_DEPTH } from '../../src/admission/object-depth.ts';
import { MAX_JSON_CONTAINERS, MAX_JSON_DEPTH } from '../../src/admission/json-shape.ts';
import { parseConfig } from '../../src/config.ts';
import { admissionReview, EPP_CLUSTER_IP, manifest } from '../helpers/fixtures.ts';
import { httpsRequest } from '../helpers/https-client.ts';
import { startWebhookUnderTest, type WebhookUnderTest } from '../helpers/webhook-under-test.ts';
import { params, TOKEN } from './arbitraries.ts';
import { answerProblem } from './check-answer.ts';

let webhook: WebhookUnderTest;
t.before(async () => {
  webhook = await startWebhookUnderTest({ config: parseConfig({}) });
});
t.teardown(() => webhook.server.close());

const post = (path: string, text: string) => httpsRequest(`${webhook.url}${path}`, { ca: webhook.ca, method: 'POST', body: text });
const nested = (levels: number, leaf: string, array: boolean) => (array ? '['.repeat(levels) + leaf + ']'.repeat(levels) : '{"a":'.repeat(levels) + leaf + '}'.repeat(levels));

/** The guide's EnvoyFilter with `levels` more levels under its cluster, the token at the bottom. */
function deepEnvoyFilter(levels: number, array: boolean, where: 'value' | 'metadata' = 'value') {
  const object = manifest('guide-envoyfilter.yaml');
  if (where === 'value') object.spec.configPatches[1].patch.value.deep = '__DEEP__';
  else object.metadata.labels = '__DEEP__';
  return JSON.stringify(admissionReview(object, 'CREATE', `deep-${levels}`)).replace('"__DEEP__"', nested(levels, JSON.stringify(TOKEN), array));
}

t.test('10,000 levels deep, in every place the core walks: a denial or a refusal with a reason, never a 500', async (t) => {
  const routeOf = (levels: number) => {
    const route = manifest('guide-httproute.yaml');
    route.spec.rules[0].matches = '__DEEP__';
    return JSON.stringify(admissionReview(route, 'CREATE', `deep-${levels}`)).replace('"__DEEP__"', nested(levels, '1', false));
  };
  const cases = (levels: number): [string, string][] => [
    ['EnvoyFilter patch value, objects', deepEnvoyFilter(levels, false)],
    ['EnvoyFilter patch value, arrays', deepEnvoyFilter(levels, true)],
    ['EnvoyFilter metadata', deepEnvoyFilter(levels, false, 'metadata')],
    ['HTTPRoute rule', routeOf(levels)],
  ];
  // 10,000 levels inside the AdmissionReview envelope: deeper than the apiserver's decoder allows, refused unparsed.
  for (const [what, text] of cases(10_000)) {
    const answer = await post('/mutate', text);
    t.equal(answer.status, 400, `${what}, 10,000 levels: 400`);
    t.match(answer.body.reason, 'nests more than 10000 levels deep');
  }
  // 9,900 levels: parsed, then denied by the admission layer before the core's recursive walks.
  for (const [what, text] of cases(9_900)) {
    for (const path of ['/mutate', '/validate']) {
      const answer = await post(path, text);
      t.equal(answerProblem(answer, 'deep-9900'), undefined, `${what}, 9,900 levels, ${path}: well-formed`);
      t.equal(answer.body.response.allowed, false, `${what} ${path}: denied`);
      t.equal(answer.body.response.status.code, 403);
      t.match(answer.body.response.status.message, new RegExp(`\\[EPP(307|403)\\] object nests more than ${MAX_OBJECT_DEPTH} levels deep`));
    }
  }
  t.equal((await httpsRequest(`${webhook.url}/healthz`, { ca: webhook.ca })).status, 200, 'still alive');
});

t.test('metadata.managedFields 9,900 levels deep: the core never reads it, so the object is judged on what it walks', async (t) => {
  const object = manifest('guide-envoyfilter.yaml');
  object.metadata.managedFields = '__DEEP__';
  const text = JSON.stringify(admissionReview(object, 'CREATE', 'deep-managed')).replace('"__DEEP__"', `[${nested(9_900, '{}', false)}]`);
  const mutated = await post('/mutate', text);
  t.equal(answerProblem(mutated, 'deep-managed'), undefined, 'well-formed');
  t.equal(mutated.body.response.allowed, true, 'the placeholder is substituted as in any guide EnvoyFilter');
  t.ok(mutated.body.response.patch, 'with a patch');
  const validated = await post('/validate', text);
  t.equal(answerProblem(validated, 'deep-managed'), undefined, 'well-formed');
  t.match(validated.body.response.status?.message ?? '', /EPP106/, 'and /validate judges the spec (the token is still there): not a depth denial');
  t.notMatch(validated.body.response.status?.message ?? '', /nests more than/);
});

t.test('bodies no AdmissionReview from the apiserver can be: refused before parsing', async (t) => {
  const envelope = (object: string) => `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"networking.istio.io","version":"v1","kind":"EnvoyFilter"},"operation":"CREATE","object":${object}}}`;
  const tooDeep = await post('/mutate', envelope(nested(3_000_000, '1', true)));
  t.equal(tooDeep.status, 400);
  t.match(tooDeep.body.reason, `nests more than ${MAX_JSON_DEPTH} levels deep`);
  const tooMany = await post('/mutate', envelope(`{"spec":{"configPatches":[{"patch":{"value":{"x":[${'[],'.repeat(2_400_000)}[]]}}}]}}`));
  t.equal(tooMany.status, 413);
  t.match(tooMany.body.reason, `more than ${MAX_JSON_CONTAINERS} JSON objects and arrays`);
  // Brackets inside strings are text, not structure.
  const inStrings = await post('/mutate', envelope(JSON.stringify({ ...manifest('guide-envoyfilter.yaml'), data: '['.repeat(200_000) })));
  t.equal(inStrings.status, 200);
  t.equal((await httpsRequest(`${webhook.url}/healthz`, { ca: webhook.ca })).status, 200, 'still alive');
});

t.test('100,000 placeholder tokens in a 2.5 MB object (under the apiserver\'s 3 MB request limit): a short denial, not a 26 MB answer', async (t) => {
  const object = manifest('guide-envoyfilter.yaml');
  object.spec.configPatches[1].patch.value.metadata = { filter_metadata: { notes: { list: Array.from({ length: 100_000 }, () => TOKEN) } } };
  const body = JSON.stringify(admissionReview(object, 'CREATE', 'token-flood'));
  t.ok(body.length > 2_400_000 && body.length < 3_000_000, `${body.length} bytes`);
  const answer = await post('/mutate', body);
  t.equal(answerProblem(answer, 'token-flood'), undefined, 'a well-formed AdmissionReview');
  t.equal(answer.body.response.allowed, false);
  t.match(answer.body.response.status.message, '[EPP115]');
  t.notOk(answer.body.response.patch, 'no patch');
  t.ok(JSON.stringify(answer.body).length < 10_000, 'the answer stays small');
  t.equal((await httpsRequest(`${webhook.url}/healthz`, { ca: webhook.ca })).status, 200, 'still alive');
});

t.test('5,000 copies of a bad ext_proc patch (3 MB) to /validate: every problem counted, 50 spelled out, a short answer', async (t) => {
  const object = manifest('wild/operator-sample-envoyfilter-epp.yaml');
  object.spec.configPatches = [...Array.from({ length: 5_000 }, () => structuredClone(object.spec.configPatches[0])), ...object.spec.configPatches.slice(1)];
  const answer = await post('/validate', JSON.stringify(admissionReview(object, 'CREATE', 'finding-flood')));
  t.equal(answerProblem(answer, 'finding-flood'), undefined, 'a well-formed AdmissionReview');
  t.equal(answer.body.response.allowed, false);
  const message: string = answer.body.response.status.message;
  t.match(message, 'EnvoyFilter llm-d-inference-scheduler/epp-ext-proc: 10,000 problems that would break the gateway (the first 50 here; epp-webhook check on the manifest lists every one)');
  t.equal(message.split('\n').length, 1 + 2 * 50);
  t.match(answer.body.response.warnings[0], /^\d[\d,]* warnings in all \(the first 50 here/);
  t.ok(JSON.stringify(answer.body).length < 200_000, `the answer stays small (${JSON.stringify(answer.body).length} bytes; 16 MB before)`);
});

t.test(`any depth: up to ${MAX_OBJECT_DEPTH} levels is processed (the token deep down substituted), beyond is denied, beyond ${MAX_JSON_DEPTH} refused`, async (t) => {
  // The guide's path to patch.value.deep is 5 levels below the object root (object, spec, configPatches, [1], patch, value).
  const base = 6;
  let cases = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: MAX_OBJECT_DEPTH - base - 3, max: MAX_OBJECT_DEPTH - base + 3 }), fc.integer({ min: 9_990, max: 10_010 })),
      fc.boolean(),
      fc.constantFrom('/mutate', '/validate'),
      async (levels, array, path) => {
        cases++;
        const answer = await post(path, deepEnvoyFilter(levels, array));
        const problem = answerProblem(answer, `deep-${levels}`);
        if (problem) throw new Error(`${levels} levels: ${problem}`);
        const depth = base + levels; // containers from the object root down to the innermost
        if (answer.status === 400) {
          if (!(depth + 3 > MAX_JSON_DEPTH)) throw new Error(`${levels} levels refused as too deep`);
          return;
        }
        const response = answer.body.response;
        if (depth > MAX_OBJECT_DEPTH) {
          if (response.allowed || !/nests more than/.test(response.status.message)) throw new Error(`${levels} levels (depth ${depth}) not denied as too deep`);
        } else if (path === '/mutate') {
          if (!response.allowed) throw new Error(`${levels} levels (depth ${depth}) denied: ${response.status.message}`);
          const patch = Buffer.from(response.patch, 'base64').toString();
          if (!patch.includes(EPP_CLUSTER_IP)) throw new Error(`${levels} levels: the token was not substituted`);
        } else if (/nests more than/.test(response.status?.message ?? '')) {
          throw new Error(`${levels} levels (depth ${depth}) denied as too deep`);
        }
      },
    ),
    params(150),
  );
  t.comment(`depth property cases: ${cases}`);
});
