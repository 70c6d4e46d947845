/**
 * `npm run generate:kustomize`: writes deploy/base, deploy/overlays/* and deploy/monitoring from the Helm chart
 * (scripts/kustomize-from-chart.ts says how). `--check` writes nothing and exits 1, naming the files, when the
 * checked-in ones differ from the rendering (test/e2e/helm-chart.e2e.test.ts runs it that way).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART, helmTemplate } from '../test/e2e/harness/helm.ts';
import { kustomizeFiles, RENDERINGS, type RenderingName } from './kustomize-from-chart.ts';

const ROOT = new URL('../', import.meta.url).pathname;

export async function renderKustomizeFiles(): Promise<Map<string, string>> {
  const renderings = {} as Record<RenderingName, string>;
  for (const [name, args] of Object.entries(RENDERINGS)) renderings[name as RenderingName] = await helmTemplate([...args]);
  return kustomizeFiles(renderings, readFileSync(join(CHART, 'files/prometheus-rules.yaml'), 'utf8'));
}

/** The files whose checked-in content differs from the rendering. */
export async function staleKustomizeFiles(): Promise<string[]> {
  const stale: string[] = [];
  for (const [path, content] of await renderKustomizeFiles()) {
    let current: string | undefined;
    try {
      current = readFileSync(join(ROOT, path), 'utf8');
    } catch {
      current = undefined;
    }
    if (current !== content) stale.push(path);
  }
  return stale;
}

if (import.meta.filename === process.argv[1]) {
  if (process.argv.includes('--check')) {
    const stale = await staleKustomizeFiles();
    if (stale.length > 0) {
      process.stderr.write(`out of date with the Helm chart (run npm run generate:kustomize): ${stale.join(', ')}\n`);
      process.exit(1);
    }
    process.stdout.write('deploy/ matches the Helm chart\n');
  } else {
    for (const [path, content] of await renderKustomizeFiles()) writeFileSync(join(ROOT, path), content);
    process.stdout.write('wrote deploy/base, deploy/overlays and deploy/monitoring from deploy/helm/epp-webhook\n');
  }
}
