/**
 * An object that draws thousands of findings: the answer spells out 50 of each severity, the admission line lists the
 * codes the answer spells out, and the findings metric counts every one.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { writeServingBundle } from '../../src/certs/serving-bundle.ts';
import { parseConfig } from '../../src/config.ts';
import { startWebhookServer } from '../../src/server/webhook-server.ts';
import { admissionReview, fixtureResolver, manifest } from '../helpers/fixtures.ts';
import { postJson } from '../helpers/https-client.ts';
import { scratchDir } from '../helpers/scratch-dir.ts';

/** The real server on loopback, its info lines kept in `lines`. */
async function serverLoggingTo(t: Test) {
  const bundle = writeServingBundle(scratchDir('epp-webhook-flood-'), { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const server = await startWebhookServer({ config: parseConfig({}), resolver: fixtureResolver(), certFile: bundle.certFile, keyFile: bundle.keyFile, host: '127.0.0.1', port: 0, metricsPort: 0, logger: { level: 'info', stream } });
  t.teardown(() => server.close());
  return { server, bundle, lines };
}

t.test('5,000 copies of a bad ext_proc patch: 50 findings of each severity in the answer and the line, all in the metric', async (t) => {
  const { server, bundle, lines } = await serverLoggingTo(t);

  const object = manifest('wild/operator-sample-envoyfilter-epp.yaml');
  object.spec.configPatches = [...Array.from({ length: 5_000 }, () => structuredClone(object.spec.configPatches[0])), ...object.spec.configPatches.slice(1)];
  const answer = await postJson(`https://127.0.0.1:${server.port}/validate`, readFileSync(bundle.caCertFile), JSON.stringify(admissionReview(object, 'CREATE', 'flood')));
  t.equal(answer.status, 200);
  const response = JSON.parse(answer.text).response;
  t.equal(response.allowed, false);
  t.equal(response.status.message.split('\n').length, 1 + 2 * 50);

  const line = lines.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === 'admission' && l.uid === 'flood');
  t.ok(line, 'the admission line is written');
  t.equal(line.codes.length, 100, 'the line lists the 50 denials and 50 warnings the answer spells out');
  t.ok(JSON.stringify(line).length < 4_000, `the line stays short (${JSON.stringify(line).length} characters)`);

  const metrics = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
  const counted = (code: string, severity: string) => Number(new RegExp(`^epp_webhook_findings_total\\{code="${code}",severity="${severity}"\\} (\\d+)`, 'm').exec(metrics)?.[1]);
  t.equal(counted('EPP201', 'deny'), 5_000, 'every EPP201 counted');
  t.equal(counted('EPP202', 'deny'), 5_000, 'every EPP202 counted');
});

t.test('an unknown ext_proc key of 3 MB: answered at once, the key cut short in the denial', { timeout: 5_000 }, async (t) => {
  // The "did you mean" search once compared every field name with the whole key, edit by edit: a key of 1 MB held
  // the event loop for 7 s, every other admission and /healthz waiting behind it.
  const { server, bundle } = await serverLoggingTo(t);
  const object = manifest('wild/operator-sample-envoyfilter-epp.yaml');
  const key = `message_timeout${'t'.repeat(3 * 1024 * 1024)}`;
  object.spec.configPatches[0].patch.value.typed_config[key] = '5s';
  const started = performance.now();
  const answer = await postJson(`https://127.0.0.1:${server.port}/validate`, readFileSync(bundle.caCertFile), JSON.stringify(admissionReview(object, 'CREATE', 'long-key')));
  const took = performance.now() - started;
  t.equal(answer.status, 200);
  const response = JSON.parse(answer.text).response;
  const [typo] = response.warnings.filter((w: string) => w.startsWith('[EPP213]'));
  t.ok(typo, 'the unknown key is named');
  t.notMatch(typo, 'did you mean', 'no guess: no field is that long');
  t.match(typo, /^\[EPP213\] configPatches\[0\] ext_proc message_timeouttttt+… \([\d,]+ more characters; epp-webhook check prints the line whole\)$/);
  t.ok(answer.text.length < 64 * 1024, `the answer stays small (${answer.text.length} bytes)`);
  t.comment(`answered in ${Math.round(took)} ms`);
});

t.test('a review whose kind, name and namespace are half a megabyte each: the admission line stays short', async (t) => {
  const { server, bundle, lines } = await serverLoggingTo(t);
  const huge = (letter: string) => letter.repeat(512 * 1024);
  const review = admissionReview({ apiVersion: 'example.com/v1', kind: huge('K'), metadata: { name: huge('n'), namespace: huge('s') } }, 'CREATE', 'huge-fields');
  const answer = await postJson(`https://127.0.0.1:${server.port}/validate`, readFileSync(bundle.caCertFile), JSON.stringify(review));
  t.equal(answer.status, 200);
  t.equal(JSON.parse(answer.text).response.allowed, true, 'an unknown kind passes untouched');
  const line = lines.join('').split('\n').find((l) => l.includes('"uid":"huge-fields"'));
  t.ok(line, 'the admission line is written');
  t.ok(line!.length < 2_000, `the line stays short (${line!.length} characters)`);
  const fields = JSON.parse(line!);
  t.equal(fields.kind, `${'K'.repeat(256)}…`, 'each field cut at 256 characters, marked');
  t.equal(fields.name, `${'n'.repeat(256)}…`);
  t.equal(fields.namespace, `${'s'.repeat(256)}…`);
});

t.test('a denied EnvoyFilter whose name and namespace are half a megabyte each: the denial names it in one bounded line', async (t) => {
  const { server, bundle } = await serverLoggingTo(t);
  const object = manifest('wild/operator-sample-envoyfilter-epp.yaml');
  object.metadata = { name: 'n'.repeat(512 * 1024), namespace: 's'.repeat(512 * 1024) };
  const answer = await postJson(`https://127.0.0.1:${server.port}/validate`, readFileSync(bundle.caCertFile), JSON.stringify(admissionReview(object, 'CREATE', 'huge-subject')));
  const response = JSON.parse(answer.text).response;
  t.equal(response.allowed, false, 'the bad ext_proc patch is still denied');
  const [header] = response.status.message.split('\n');
  t.match(header, /^EnvoyFilter s{4000,}… \([\d,]+ more characters; epp-webhook check prints the line whole\)/, 'the subject is cut once, as a whole');
  t.ok(header.length < 4_096 + 200, `the header line stays short (${header.length} characters)`);
});
