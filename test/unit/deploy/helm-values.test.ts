/**
 * The chart's values, its schema and the README agree, without helm (the rendering itself is tested in
 * test/e2e/helm-chart.e2e.test.ts): every value is described, the schema knows exactly the webhook's config keys,
 * and the README's table is the one generated from the chart.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DEFAULT_CONFIG } from '../../../src/config.ts';
import { RULES } from '../../../src/findings.ts';
import { CHART_DIR, chartValuesTable, valuesRows } from '../../../scripts/helm-values-table.ts';

const values = parse(readFileSync(`${CHART_DIR}values.yaml`, 'utf8'));
const schema = JSON.parse(readFileSync(`${CHART_DIR}values.schema.json`, 'utf8'));
const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** Every path to a leaf of values.yaml (a scalar, a list, or an empty mapping). */
function leaves(value: unknown, path: string[] = []): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0) return [path.join('.')];
  return Object.entries(value).flatMap(([key, child]) => leaves(child, [...path, key]));
}

t.test('every value in values.yaml is in the README table (itself or the object it belongs to)', async (t) => {
  const documented = valuesRows(values, schema).map((row) => row.key);
  for (const leaf of leaves(values)) {
    t.ok(documented.some((key) => leaf === key || leaf.startsWith(`${key}.`)), leaf);
  }
});

t.test("the schema's config keys are exactly the keys the webhook's config file takes", async (t) => {
  const config = schema.properties.config;
  t.same(Object.keys(config.properties).sort(), Object.keys(DEFAULT_CONFIG).sort());
  t.equal(config.additionalProperties, false, 'a misspelt config key fails at helm install, not at pod start');
  t.same(Object.keys(config.properties.eppService.properties).sort(), Object.keys(DEFAULT_CONFIG.eppService).sort());
  t.same(Object.keys(config.properties.extensionRef.properties).sort(), Object.keys(DEFAULT_CONFIG.extensionRef).sort());
});

t.test('config.severities takes exactly what the webhook takes: known codes, and only deny for a rule that cannot be relaxed', async (t) => {
  // Anything else passes helm install and then stops every webhook pod at start (config.ts refuses it).
  const severities = schema.properties.config.properties.severities;
  t.equal(severities.additionalProperties, false, 'an unknown code fails at helm install');
  t.same(Object.keys(severities.properties ?? {}).sort(), Object.keys(RULES).sort());
  for (const [code, rule] of Object.entries(RULES)) {
    t.same(severities.properties?.[code]?.enum, rule.relaxable ? ['deny', 'warn', 'off', false] : ['deny'], code);
  }
});

t.test('every object in the schema refuses unknown keys, so a typo fails with a message', async (t) => {
  const open: string[] = [];
  const walk = (node: any, path: string) => {
    if (node.properties) {
      if (node.additionalProperties !== false) open.push(path || '(root)');
      for (const [key, child] of Object.entries(node.properties)) walk(child, path ? `${path}.${key}` : key);
    }
  };
  walk(schema, '');
  t.same(open, []);
});

t.test('the README "Helm values" table is the one generated from the chart', async (t) => {
  const table = /<!-- helm-values:begin[^>]*-->\n([\s\S]*?)<!-- helm-values:end -->/.exec(readme)?.[1];
  t.ok(table, 'the README has the generated table between its markers');
  t.equal(table, chartValuesTable(), 'regenerate with: node scripts/helm-values-table.ts');
});
