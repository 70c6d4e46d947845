import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { loadServicesFile } from '../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { claimOf } from './rule-claims.ts';
import { askWebhook } from './webhook-verdict.ts';

// Published ext_proc EnvoyFilters with the verdicts istiod and Envoy 1.40 gave them, recorded outside this
// repository in shared/reference/wild-ext-proc (beside the clone, or beside the directory of worktrees;
// EPP_WEBHOOK_SHARED overrides, as for test/cli/wild-ext-proc-corpus.test.ts). Skipped where it is absent.
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const candidates = process.env.EPP_WEBHOOK_SHARED ? [process.env.EPP_WEBHOOK_SHARED] : [resolve(REPO, '../shared'), resolve(REPO, '../../shared')];
const dir = candidates.map((c) => join(c, 'reference/wild-ext-proc')).find((d) => existsSync(join(d, 'expected.jsonl.xz')));

if (dir === undefined) {
  t.test('recorded wild ext_proc verdicts', { skip: `no shared/reference/wild-ext-proc in ${candidates.join(' or ')} (set EPP_WEBHOOK_SHARED)` }, async () => {});
} else {
  t.test('the webhook names the system that refuses each published EnvoyFilter, and claims no refusal of one that loads', async (t) => {
    const lines = execFileSync('xz', ['-dc', join(dir, 'expected.jsonl.xz')], { encoding: 'utf8' }).trim().split('\n').slice(1);
    const resolver = loadServicesFile(join(dir, 'services.yaml'));
    for (const line of lines) {
      const expected = JSON.parse(line) as { file: string; verdict: string; as_published?: { verdict: string } };
      const verdict = expected.as_published?.verdict ?? expected.verdict;
      const object = parseAllDocuments(readFileSync(join(dir, 'manifests', expected.file), 'utf8'))
        .map((d) => d.toJS())
        .find((o) => o?.kind === 'EnvoyFilter');
      const webhook = await askWebhook(object, object.metadata?.namespace ?? 'default', { config: DEFAULT_CONFIG, resolver });
      const claims = new Set(webhook.findings.filter((f) => f.severity === 'deny').map((f) => claimOf(f.code)));
      if (verdict === 'rejected-by-istio') t.ok(claims.has('istio-refuses'), `${expected.file}: istiod refuses it`);
      else if (verdict === 'nacked-by-envoy') t.ok(claims.has('envoy-rejects'), `${expected.file}: Envoy rejects it`);
      else t.notOk(claims.has('istio-refuses') || claims.has('envoy-rejects'), `${expected.file}: ${verdict}, no refusal claimed`);
    }
  });
}
