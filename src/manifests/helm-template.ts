import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/** A Go template action: `{{ .Values.x }}`, `{{- if ... }}`, `{{/* comment *\/}}`. */
const TEMPLATE_ACTION = /\{\{[\s\S]*?\}\}/;

/** The 1-based line of the first template action, or undefined when the text has none. */
export function templateActionLine(text: string): number | undefined {
  const match = TEMPLATE_ACTION.exec(text);
  return match === null ? undefined : text.slice(0, match.index).split('\n').length;
}

/**
 * True for a file in a chart's `templates/` directory (a `templates` ancestor whose parent holds Chart.yaml). Such a
 * file can parse as YAML and still not be the manifest Helm renders: `address: {{ .Values.ip }}` reads as a mapping.
 */
export function isInChartTemplates(file: string): boolean {
  let dir = dirname(resolve(file));
  for (;;) {
    const parent = dirname(dir);
    if (parent === dir) return false;
    if (basename(dir) === 'templates' && existsSync(resolve(parent, 'Chart.yaml'))) return true;
    dir = parent;
  }
}

export function helmTemplateMessage(line: number): string {
  return `looks like a Helm template ({{ }} at line ${line}): render it first, e.g. helm template RELEASE CHART | epp-webhook check -`;
}
