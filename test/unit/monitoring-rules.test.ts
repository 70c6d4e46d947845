import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { EnvoyFilterIndexTable } from '../../src/cluster/envoyfilter-index.ts';
import { StaticInferencePools } from '../../src/cluster/static-inference-pools.ts';
import type { ServiceResolver } from '../../src/cluster/service-resolver.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { probeAnswer } from '../../src/server/probes.ts';

const MONITORING = new URL('../../deploy/monitoring/', import.meta.url).pathname;

/**
 * kube-apiserver metrics the rules use, named in Kubernetes' metrics reference and found in the v1.36.5 binary the e2e
 * builds (`npm run bench -- --only=apiserver` prints which it exposes, and their label values after a denial and an
 * unreachable webhook). `up` is Prometheus' own per scrape target.
 */
const APISERVER_METRICS = new Set([
  'apiserver_admission_webhook_admission_duration_seconds_bucket',
  'apiserver_admission_webhook_request_total',
  'apiserver_admission_webhook_rejection_count',
  'apiserver_admission_webhook_fail_open_count',
]);
const PROMETHEUS_METRICS = new Set(['up']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/** The names our registry exposes with all three caches (as `serve` has), histograms with their _bucket, _sum and _count series. */
async function ourMetricNames(): Promise<Set<string>> {
  const resolver: ServiceResolver = { source: 'none', lookup: () => ({ kind: 'not-found' }), ready: () => true, size: () => 0 };
  const json = await createMetrics({ resolver, pools: new StaticInferencePools([], 'none'), envoyFilters: new EnvoyFilterIndexTable('none') }).registry.getMetricsAsJSON();
  const names = new Set<string>();
  for (const metric of json) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

/** Metric names in a PromQL expression: identifiers that are not functions, keywords, label names or durations. */
function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = stripped.slice(match.index! + match[0].length).trimStart();
    if (after.startsWith('(')) continue; // a function: rate(, sum(, histogram_quantile(
    if (KEYWORDS.has(match[0].toLowerCase())) continue;
    names.push(match[0]);
  }
  return names;
}

interface Rule {
  alert?: string;
  record?: string;
  expr: unknown;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const plain = parse(readFileSync(`${MONITORING}prometheus-rules.yaml`, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
const operator = parse(readFileSync(`${MONITORING}prometheusrule.yaml`, 'utf8'));

t.test('the plain rules file and the PrometheusRule hold the same groups', async (t) => {
  t.equal(operator.apiVersion, 'monitoring.coreos.com/v1');
  t.equal(operator.kind, 'PrometheusRule');
  t.ok(operator.metadata?.name);
  t.same(operator.spec.groups, plain.groups);
});

t.test('every alert is well formed: an expression, a severity, a summary and a description, a sane for', async (t) => {
  const rules = plain.groups.flatMap((g) => g.rules);
  t.ok(plain.groups.every((g) => typeof g.name === 'string' && g.name !== '' && Array.isArray(g.rules)));
  const names = rules.map((r) => r.alert);
  t.equal(new Set(names).size, names.length, 'alert names are unique');
  for (const rule of rules) {
    t.test(rule.alert ?? '(no name)', async (t) => {
      t.match(rule.alert, /^[A-Z][A-Za-z0-9]+$/, 'alert name');
      t.type(rule.expr, 'string');
      t.ok(String(rule.expr).trim() !== '', 'expr is not empty');
      t.ok(['critical', 'warning', 'info'].includes(rule.labels?.severity ?? ''), `severity label (${rule.labels?.severity})`);
      t.ok((rule.annotations?.summary ?? '').trim() !== '', 'summary annotation');
      t.ok((rule.annotations?.description ?? '').trim() !== '', 'description annotation');
      if (rule.for !== undefined) t.match(rule.for, /^\d+[smhd]$/, 'for is a duration');
      t.same(Object.keys(rule).filter((k) => !['alert', 'expr', 'for', 'labels', 'annotations'].includes(k)), [], 'no unknown keys');
      const open = (String(rule.expr).match(/\(/g) ?? []).length;
      const close = (String(rule.expr).match(/\)/g) ?? []).length;
      t.equal(open, close, 'parentheses balance');
    });
  }
});

t.test('the alerts cover what the issue asks for', async (t) => {
  const byName = new Map(plain.groups.flatMap((g) => g.rules).map((r) => [r.alert, String(r.expr)]));
  t.match(byName.get('EppWebhookLatencyHigh'), /histogram_quantile\(0\.99, .*epp_webhook_admission_duration_seconds_bucket/);
  t.match(byName.get('EppWebhookDenialsSpike'), /verdict="denied"/);
  t.match(byName.get('EppWebhookCertificateExpiringSoon'), /epp_webhook_tls_certificate_expiry_timestamp_seconds.* - time\(\) < 21 \* 24 \* 3600/);
  t.match(byName.get('EppWebhookServiceCacheNotSynced'), /epp_webhook_service_cache_synced\{[^}]*\} == 0/);
  t.equal(plain.groups.flatMap((g) => g.rules).find((r) => r.alert === 'EppWebhookServiceCacheNotSynced')?.for, '5m');
  t.match(byName.get('EppWebhookCacheNotSynced'), /epp_webhook_inference_pool_cache_synced\{[^}]*\} == 0/);
  t.match(byName.get('EppWebhookCacheNotSynced'), /epp_webhook_envoyfilter_cache_synced\{[^}]*\} == 0/);
  t.equal(plain.groups.flatMap((g) => g.rules).find((r) => r.alert === 'EppWebhookCacheNotSynced')?.for, '5m');
  t.match(byName.get('EppWebhookCacheStale'), /epp_webhook_cache_failing_seconds\{[^}]*\} > 300/);
  t.match(byName.get('EppWebhookDown'), /up\{job="epp-webhook"\}/);
  t.match(byName.get('EppWebhookUnreachable'), /apiserver_admission_webhook_rejection_count\{.*error_type="calling_webhook_error".*unless on \(\)/s);
  t.match(byName.get('EppWebhookFailingOpen'), /apiserver_admission_webhook_fail_open_count/);
  t.match(byName.get('EppWebhookFailingOpen'), 'name!~"(httproutes|destinationrules)\\\\.validate\\\\.epp-webhook\\\\.io"', 'not for the webhooks that only warn, which ship Ignore');
  t.match(byName.get('EppWebhookRouteWarningsSkipped'), 'apiserver_admission_webhook_fail_open_count{name="httproutes.validate.epp-webhook.io"}', 'each has its own');
  t.match(byName.get('EppWebhookDestinationRuleWarningsSkipped'), 'apiserver_admission_webhook_fail_open_count{name="destinationrules.validate.epp-webhook.io"}');
  // PromQL anchors its regular expressions; the string escapes each backslash.
  const failingOpen = new RegExp(`^(?:${String(byName.get('EppWebhookFailingOpen')).match(/name!~"([^"]+)"/)![1].replaceAll('\\\\', '\\')})$`);
  t.same(['httproutes.validate.epp-webhook.io', 'destinationrules.validate.epp-webhook.io', 'envoyfilters.validate.epp-webhook.io'].map((n) => failingOpen.test(n)), [true, true, false], 'the exclusion matches exactly the two');
});

t.test("the README's alerts table says what the rules do: one row per alert, the same severities, thresholds and durations", async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = /^## Alerts\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
  const rows = new Map([...section.matchAll(/^\| `(EppWebhook\w+)` \| (\w+) \| ([^|]+) \|/gm)].map((m) => [m[1], { severity: m[2], firesWhen: m[3] }]));
  const rules = new Map(plain.groups.flatMap((g) => g.rules).map((r) => [r.alert, r]));
  t.same([...rows.keys()].sort(), [...rules.keys()].sort(), 'one row per alert');
  for (const [name, row] of rows) t.equal(row.severity, rules.get(name)?.labels?.severity, `${name}: severity`);
  // Each alert's threshold and duration, as the README words it and as the rule writes it.
  const said: [alert: string, readme: string, expr: string, forDuration: string | undefined][] = [
    ['EppWebhookLatencyHigh', 'above 50 ms for 10 min', '[5m]))) > 0.05', '10m'],
    ['EppWebhookApiserverLatencyHigh', 'above 500 ms (a tenth of `timeoutSeconds: 5`) for 10 min', '[5m]))) > 0.5', '10m'],
    ['EppWebhookDenialsSpike', 'more than 10 denials in 15 min, at over 3×', 'verdict="denied"}[15m])) > 10', '5m'],
    ['EppWebhookCertificateExpiringSoon', 'within 21 days (for 1 h)', '- time() < 21 * 24 * 3600', '1h'],
    ['EppWebhookCertificateExpiryCritical', 'less than 7 days left', '- time() < 7 * 24 * 3600', '10m'],
    ['EppWebhookServiceCacheNotSynced', '== 0` for 5 min', '== 0', '5m'],
    ['EppWebhookCacheNotSynced', '== 0` for 5 min', '== 0', '5m'],
    ['EppWebhookCacheStale', '> 300`', '> 300', undefined],
    ['EppWebhookDown', 'for 5 min', '== 0 or absent(', '5m'],
    ['EppWebhookUnreachable', '(5 min)', 'error_type="calling_webhook_error"}[5m])) > 0', '5m'],
  ];
  for (const [alert, readmeWords, exprPart, forDuration] of said) {
    t.match(rows.get(alert)?.firesWhen, readmeWords, `${alert}: the README says ${readmeWords}`);
    t.match(String(rules.get(alert)?.expr), exprPart, `${alert}: the rule has ${exprPart}`);
    t.equal(rules.get(alert)?.for, forDuration, `${alert}: for`);
  }
  t.match(String(rules.get('EppWebhookDenialsSpike')?.expr), /> 3 \* sum\(rate\(epp_webhook_admission_requests_total\{job="epp-webhook", verdict="denied"\}\[1d\]\)\)/, 'three times the day\'s rate');
});

t.test('EppWebhookCacheNotSynced labels each stuck cache with the name /readyz gives it in notSynced', async (t) => {
  const expr = String(plain.groups.flatMap((g) => g.rules).find((r) => r.alert === 'EppWebhookCacheNotSynced')?.expr);
  const labelled = Object.fromEntries([...expr.matchAll(/label_replace\((epp_webhook_\w+)\{[^}]*\} == 0, "cache", "(\w+)", "", ""\)/g)].map((m) => [m[1], m[2]]));
  const unsynced = { source: 'stuck', ready: () => false };
  const readyz = probeAnswer('/readyz', {
    resolver: { ...unsynced, lookup: () => ({ kind: 'not-found' }), size: () => 0 },
    pools: { ...unsynced, lookupPool: () => ({ kind: 'not-found' }), endpointPickerServices: () => [], records: () => [] },
    envoyFilters: { ...unsynced, has: () => false, servingPool: () => [], poolOf: () => undefined, envoyFiltersOverriding: () => [] },
  });
  t.same(labelled, {
    epp_webhook_inference_pool_cache_synced: readyz.body.notSynced?.[1],
    epp_webhook_envoyfilter_cache_synced: readyz.body.notSynced?.[2],
  });
  t.same(readyz.body.notSynced, ['Services', 'InferencePools', 'EnvoyFilters'], 'in /readyz\'s order');
});

t.test('every metric an expression reads is one of ours or a listed apiserver/Prometheus metric', async (t) => {
  const ours = await ourMetricNames();
  for (const rule of plain.groups.flatMap((g) => g.rules)) {
    const used = metricNamesIn(String(rule.expr));
    t.ok(used.length > 0, `${rule.alert} reads some metric`);
    for (const name of used) {
      t.ok(ours.has(name) || APISERVER_METRICS.has(name) || PROMETHEUS_METRICS.has(name), `${rule.alert}: ${name} exists`);
    }
  }
});

t.test('the metric-name scan sees through PromQL syntax', async (t) => {
  t.same(metricNamesIn('sum by (le, name) (rate(foo_bucket{a="b(c"}[5m])) > 0.5 unless on () sum(bar) > 0'), ['foo_bucket', 'bar']);
  t.same(metricNamesIn('x - time() < 21 * 24 * 3600'), ['x']);
});

t.test('the ServiceMonitor scrapes the metrics port of the Service deploy/base defines, and kustomize lists both', async (t) => {
  const monitor = parse(readFileSync(`${MONITORING}servicemonitor.yaml`, 'utf8'));
  t.equal(monitor.kind, 'ServiceMonitor');
  t.equal(monitor.spec.endpoints[0].port, 'metrics');
  const service = parseAllDocuments(readFileSync(new URL('../../deploy/base/service.yaml', import.meta.url), 'utf8'))[0].toJS();
  t.ok(service.spec.ports.some((p: { name: string }) => p.name === 'metrics'), 'deploy/base Service has a metrics port');
  // The Service itself carries no labels: deploy/base's kustomization adds the one the ServiceMonitor selects.
  const base = parse(readFileSync(new URL('../../deploy/base/kustomization.yaml', import.meta.url), 'utf8'));
  const added = Object.assign({}, ...(base.labels ?? []).map((l: { pairs: Record<string, string> }) => l.pairs), base.commonLabels ?? {});
  for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) t.equal(added[key], value, `deploy/base labels its Service ${key}=${value}`);
  const kustomization = parse(readFileSync(`${MONITORING}kustomization.yaml`, 'utf8'));
  t.same([...kustomization.resources].sort(), ['prometheusrule.yaml', 'servicemonitor.yaml']);
});

