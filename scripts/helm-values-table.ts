/**
 * The README's "Helm values" table, from the chart itself: every value the schema describes, with its default from
 * values.yaml (for keys of the webhook's config file the chart leaves unset, the default the process applies).
 * `node scripts/helm-values-table.ts` prints it; test/unit/deploy/helm-values.test.ts keeps the README's copy equal.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DEFAULT_CONFIG } from '../src/config.ts';

export const CHART_DIR = new URL('../deploy/helm/epp-webhook/', import.meta.url).pathname;

interface SchemaNode {
  type?: string | string[];
  description?: string;
  properties?: Record<string, SchemaNode>;
}

export interface ValuesRow {
  key: string;
  default: unknown;
  description: string;
}

function lookup(object: unknown, path: string[]): unknown {
  let value = object;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !(key in value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** One row per described value, depth first in the schema's order. */
export function valuesRows(values: unknown, schema: SchemaNode): ValuesRow[] {
  const rows: ValuesRow[] = [];
  const walk = (node: SchemaNode, path: string[]) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const here = [...path, key];
      if (child.description) {
        let value = lookup(values, here);
        if (value === undefined && here[0] === 'config') value = lookup(DEFAULT_CONFIG, here.slice(1));
        rows.push({ key: here.join('.'), default: value, description: child.description });
      }
      if (child.properties) walk(child, here);
    }
  };
  walk(schema, []);
  return rows;
}

export function valuesTable(values: unknown, schema: SchemaNode): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const lines = ['| value | default | what it does |', '|---|---|---|'];
  for (const row of valuesRows(values, schema)) lines.push(`| \`${row.key}\` | \`${cell(JSON.stringify(row.default))}\` | ${cell(row.description)} |`);
  return lines.join('\n') + '\n';
}

export function chartValuesTable(): string {
  const values = parse(readFileSync(`${CHART_DIR}values.yaml`, 'utf8'));
  const schema = JSON.parse(readFileSync(`${CHART_DIR}values.schema.json`, 'utf8'));
  return valuesTable(values, schema);
}

if (import.meta.filename === process.argv[1]) process.stdout.write(chartValuesTable());
