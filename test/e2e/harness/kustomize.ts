import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { controlPlaneBinaries } from './binaries.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;

/** Every kustomization a user may apply, by the name the README uses. */
export const KUSTOMIZATIONS = {
  base: 'deploy/base',
  'self-signed': 'deploy/overlays/self-signed',
  'cert-manager': 'deploy/overlays/cert-manager',
} as const;
export type KustomizationName = keyof typeof KUSTOMIZATIONS;

export interface RenderedKustomization {
  name: KustomizationName;
  dir: string;
  yaml: string;
  objects: any[];
}

/** `kubectl kustomize <dir>` with the e2e's kubectl (kustomize is built in): exactly what `kubectl apply -k` sends. */
export async function renderKustomization(name: KustomizationName): Promise<RenderedKustomization> {
  const { kubectl } = await controlPlaneBinaries();
  const dir = join(ROOT, KUSTOMIZATIONS[name]);
  const yaml = await new Promise<string>((resolve, reject) =>
    execFile(kubectl, ['kustomize', dir], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`kubectl kustomize ${dir} failed: ${stderr || error.message}`)) : resolve(stdout),
    ),
  );
  const objects = parseAllDocuments(yaml)
    .map((document) => document.toJS())
    .filter((object) => object !== null && object !== undefined);
  return { name, dir, yaml, objects };
}

export function findObject(rendered: RenderedKustomization, kind: string, name?: string): any {
  const found = rendered.objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (found.length !== 1) throw new Error(`${rendered.name}: expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
}

/** Every pod template in the rendering (Deployment, Job, CronJob), with where it came from. */
export function podTemplates(rendered: RenderedKustomization): { owner: string; template: any }[] {
  return rendered.objects.flatMap((o) => {
    const owner = `${o.kind} ${o.metadata?.name}`;
    if (o.kind === 'Deployment' || o.kind === 'Job' || o.kind === 'StatefulSet' || o.kind === 'DaemonSet') return [{ owner, template: o.spec.template }];
    if (o.kind === 'CronJob') return [{ owner, template: o.spec.jobTemplate.spec.template }];
    if (o.kind === 'Pod') return [{ owner, template: { metadata: o.metadata, spec: o.spec } }];
    return [];
  });
}

/** A Pod built from a workload's pod template, for a server-side dry-run through Pod Security admission. */
export function podFromTemplate(template: any, name: string, namespace: string): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: template.metadata?.labels ?? {} },
    spec: template.spec,
  };
}
