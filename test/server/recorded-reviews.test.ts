import t from 'tap';
import { readFileSync } from 'node:fs';
import jsonpatch from 'fast-json-patch';
import { valueAt } from '../../src/envoyfilter/substitute-cluster-ip.ts';
import { EPP_CLUSTER_IP, FIXTURES } from '../helpers/fixtures.ts';
import { postJson } from '../helpers/https-client.ts';
import { startWebhookUnderTest, type WebhookUnderTest } from '../helpers/webhook-under-test.ts';

/** What a user must see for each AdmissionReview recorded from the real kube-apiserver. */
const EXPECTED: Record<string, { allowed: boolean; patched: boolean; codes: string[] }> = {
  'create-envoyfilter-epp-ext-proc-poc-mutate': { allowed: true, patched: true, codes: [] },
  'create-envoyfilter-epp-ext-proc-poc-validate': { allowed: false, patched: false, codes: ['EPP106', 'EPP206', 'EPP230', 'EPP304', 'EPP306', 'EPP322'] },
  'create-httproute-llm-d-inference-scheduling-mutate': { allowed: true, patched: true, codes: ['EPP402'] },
  'create-dryrun-envoyfilter-epp-ext-proc-mutate': { allowed: true, patched: false, codes: [] },
  'create-dryrun-envoyfilter-epp-ext-proc-validate': { allowed: false, patched: false, codes: ['EPP201', 'EPP202', 'EPP230', 'EPP306', 'EPP322'] },
  'update-envoyfilter-epp-ext-proc-poc-mutate': { allowed: true, patched: true, codes: [] },
  'update-envoyfilter-epp-ext-proc-poc-validate': { allowed: false, patched: false, codes: ['EPP106', 'EPP206', 'EPP230', 'EPP304', 'EPP306', 'EPP322'] },
};

let webhook: WebhookUnderTest;
t.before(async () => {
  webhook = await startWebhookUnderTest();
});
t.teardown(() => webhook.server.close());

for (const [name, expected] of Object.entries(EXPECTED)) {
  t.test(name, async (t) => {
    const review = JSON.parse(readFileSync(`${FIXTURES}admission-reviews/${name}.json`, 'utf8'));
    const endpoint = name.endsWith('-mutate') ? '/mutate' : '/validate';
    const { status, body } = await postJson(`${webhook.url}${endpoint}`, webhook.ca, review);
    t.equal(status, 200);
    t.equal(body.response.uid, review.request.uid, 'uid echoed');
    t.equal(body.response.allowed, expected.allowed);
    t.equal(body.response.patch !== undefined, expected.patched);
    const text = [body.response.status?.message ?? '', ...(body.response.warnings ?? [])].join('\n');
    const codes = [...new Set([...text.matchAll(/\[(EPP\d{3})\]/g)].map((m) => m[1]))].sort();
    t.same(codes, expected.codes);
    if (expected.patched) {
      const patch = JSON.parse(Buffer.from(body.response.patch, 'base64').toString());
      const stored = jsonpatch.applyPatch(structuredClone(review.request.object), patch).newDocument;
      if (review.request.kind.kind === 'EnvoyFilter') {
        t.equal(stored.metadata.annotations['epp-webhook.io/resolved-cluster-ip'], EPP_CLUSTER_IP);
        const paths: string[] = JSON.parse(stored.metadata.annotations['epp-webhook.io/placeholder-paths']);
        t.ok(paths.length > 0, 'the substituted paths are recorded');
        for (const pointer of paths) t.equal(valueAt(stored, pointer), EPP_CLUSTER_IP, `${pointer} holds the ClusterIP`);
        t.notMatch(JSON.stringify(stored.spec), /EPP_SERVICE_CLUSTER_IP/, 'no token left in the spec');
      } else {
        t.same(stored.spec.rules[0].filters.at(-1), { type: 'ExtensionRef', extensionRef: { group: 'networking.istio.io', kind: 'EnvoyFilter', name: 'epp-ext-proc' } });
      }
    }
  });
}
