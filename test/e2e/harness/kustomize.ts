import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { controlPlaneBinaries } from './binaries.ts';
import type { Rendering } from './manifest-checks.ts';

export { findObject, podFromTemplate, podTemplates } from './manifest-checks.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;

/** Every kustomization a user may apply, by the name the README uses. */
export const KUSTOMIZATIONS = {
  base: 'deploy/base',
  'self-signed': 'deploy/overlays/self-signed',
  'cert-manager': 'deploy/overlays/cert-manager',
} as const;
export type KustomizationName = keyof typeof KUSTOMIZATIONS;

export interface RenderedKustomization extends Rendering {
  name: KustomizationName;
  dir: string;
}

/**
 * `kubectl kustomize <dir>` with the e2e's kubectl (kustomize is built in): exactly what `kubectl apply -k` sends.
 * `root`: a copy of the repository's deploy/ tree to render instead (one whose kustomization a test has edited).
 */
export async function renderKustomization(name: KustomizationName, root = ROOT): Promise<RenderedKustomization> {
  const { kubectl } = await controlPlaneBinaries();
  const dir = join(root, KUSTOMIZATIONS[name]);
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
