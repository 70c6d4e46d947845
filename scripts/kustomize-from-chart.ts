/**
 * The Kustomize manifests of deploy/ as a function of the Helm chart's renderings: the chart is the one source of
 * truth, and deploy/base, deploy/overlays/* and deploy/monitoring are `helm template` output split into the files
 * Kustomize users know, minus what only Helm needs. Pure: renderings in, file contents out
 * (scripts/generate-kustomize.ts runs helm and writes or checks the files).
 *
 * Hand-written, because they are Kustomize's structure rather than manifests: the kustomization.yaml files and
 * deploy/base/namespace.yaml (a Helm release's namespace exists before the release; `kubectl apply -k` creates it).
 */
import { Document, isMap, isScalar, parseAllDocuments, visit, type YAMLMap } from 'yaml';

/** What each rendering is: release epp-webhook in namespace epp-webhook, with these values. */
export const RENDERINGS = {
  base: ['--set', 'certificates.mode=external'],
  'self-signed': ['--set', 'certificates.mode=selfSigned'],
  'cert-manager': ['--set', 'certificates.mode=certManager'],
  monitoring: ['--set', 'certificates.mode=external', '--set', 'monitoring.serviceMonitor.enabled=true', '--set', 'monitoring.prometheusRule.enabled=true'],
} as const;
export type RenderingName = keyof typeof RENDERINGS;
export const RELEASE = 'epp-webhook';
export const NAMESPACE = 'epp-webhook';

/** Labels and annotations that mean something to Helm only (a Kustomize install is not managed by Helm). */
export const HELM_ONLY_LABELS = ['helm.sh/chart', 'app.kubernetes.io/managed-by'];
export const HELM_ONLY_ANNOTATIONS = ['checksum/config', 'helm.sh/hook', 'helm.sh/hook-delete-policy', 'helm.sh/hook-weight'];

const BASE_TEMPLATES = ['serviceaccount', 'rbac', 'deployment', 'service', 'poddisruptionbudget', 'networkpolicy', 'webhooks'];
const OVERLAY_TEMPLATES: Record<'self-signed' | 'cert-manager', string[]> = {
  'self-signed': ['bootstrap-rbac', 'bootstrap-job', 'bootstrap-cronjob'],
  'cert-manager': ['certificates'],
};
const MONITORING_TEMPLATES = ['servicemonitor', 'prometheusrule'];
/**
 * A Job's field that only makes sense to Helm, whose hook Job is deleted and created again on each upgrade. A Job
 * applied by Kustomize that removes itself is recreated, and run again, by Argo CD or Flux on every sync, and shown
 * OutOfSync in between: it stays once finished.
 */
export const HELM_ONLY_JOB_FIELDS = ['ttlSecondsAfterFinished'];
/**
 * Templates that only make sense to Helm: the pre-install hook that creates the Secrets before Helm waits for the
 * Deployment. `kubectl apply -k` waits for nothing, and the overlay's Job creates them as well.
 */
const HELM_ONLY_TEMPLATES = ['bootstrap-secrets-hook'];

const HEADER = '# Generated from the Helm chart deploy/helm/epp-webhook by `npm run generate:kustomize`: edit the chart, not this file.\n';
const WRITE_OPTIONS = { lineWidth: 120, minContentWidth: 40, indentSeq: false, flowCollectionPadding: false } as const;

export interface RenderedDocument {
  /** The chart template it came from, e.g. `deployment` for templates/deployment.yaml. */
  template: string;
  document: Document;
}

/** Splits `helm template` output into documents, each tagged with its template and without the `# Source:` line. */
export function splitRendering(yaml: string): RenderedDocument[] {
  const out: RenderedDocument[] = [];
  for (const document of parseAllDocuments(yaml)) {
    if (document.errors.length > 0) throw new Error(`helm rendered invalid YAML: ${document.errors[0].message}`);
    if (document.contents === null) continue;
    // The yaml parser attaches the comment lines after `---` to the document, its top mapping or its first key.
    const holders: { commentBefore?: string | null }[] = [document, document.contents as { commentBefore?: string | null }];
    if (isMap(document.contents) && document.contents.items[0]) holders.push(document.contents.items[0].key as { commentBefore?: string | null });
    let template: string | undefined;
    for (const holder of holders) {
      const lines = (holder.commentBefore ?? '').split('\n');
      const source = lines.map((line) => /^ ?Source: [^/]+\/templates\/(.+)\.yaml$/.exec(line)).find(Boolean);
      if (!source) continue;
      template = source[1];
      holder.commentBefore = lines.filter((line) => !/^ ?Source: /.test(line)).join('\n').replace(/^\n+|\n+$/g, '') || null;
    }
    if (!template) throw new Error(`a rendered document has no "# Source:" comment: ${String(document).slice(0, 200)}`);
    document.directives.docStart = null;
    out.push({ template, document });
  }
  return out;
}

/** Removes the Helm-only labels and annotations everywhere in the object (pod templates included). */
export function withoutHelmOnlyMetadata(document: Document): Document {
  const copy = document.clone();
  visit(copy, {
    Pair(_, pair) {
      if (!isScalar(pair.key) || !isMap(pair.value)) return;
      const map = pair.value as YAMLMap;
      const drop = pair.key.value === 'labels' ? HELM_ONLY_LABELS : pair.key.value === 'annotations' ? HELM_ONLY_ANNOTATIONS : [];
      for (const key of drop) map.delete(key);
    },
  });
  // An annotations map emptied above goes too.
  visit(copy, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === 'annotations' && isMap(pair.value) && pair.value.items.length === 0) return visit.REMOVE;
    },
  });
  return copy;
}

function fileOf(documents: Document[]): string {
  return HEADER + documents.map((d) => d.toString(WRITE_OPTIONS)).join('---\n');
}

/** A Job without HELM_ONLY_JOB_FIELDS, saying why where the field was. */
function withoutHelmOnlyJobFields(document: Document): Document {
  if (document.get('kind') !== 'Job') return document;
  const spec = document.get('spec') as YAMLMap;
  for (const field of HELM_ONLY_JOB_FIELDS) {
    if (!spec.has(field)) continue;
    spec.delete(field);
    const template = spec.items.find((pair) => isScalar(pair.key) && pair.key.value === 'template');
    if (template !== undefined) {
      (template.key as { commentBefore?: string | null }).commentBefore =
        ' Kept once finished (Helm, which runs it as a hook, removes it itself): a Job that removed itself would be created,\n' +
        ' and run, again by Argo CD or Flux on every sync. Delete it, then apply again, to run the bootstrap again.';
    }
  }
  return document;
}

function byTemplate(rendered: RenderedDocument[], template: string): Document[] {
  const found = rendered.filter((r) => r.template === template).map((r) => withoutHelmOnlyJobFields(withoutHelmOnlyMetadata(r.document)));
  if (found.length === 0) throw new Error(`the chart rendered nothing from templates/${template}.yaml`);
  return found;
}

const identity = (d: Document) => {
  const o = d.toJS();
  return `${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
};
const plain = (d: Document) => JSON.stringify(withoutHelmOnlyMetadata(d).toJS());

/**
 * The files of deploy/ (paths relative to the repository root) from the four renderings. Throws when an overlay
 * could not express the chart: an object that both the base and a mode render must be rendered identically
 * (the cert-manager webhook configurations' annotations aside, which inject-ca.yaml patches in).
 */
export function kustomizeFiles(renderings: Record<RenderingName, string>, prometheusRulesFile: string): Map<string, string> {
  const files = new Map<string, string>();
  const base = splitRendering(renderings.base);

  for (const template of BASE_TEMPLATES) files.set(`deploy/base/${template}.yaml`, fileOf(byTemplate(base, template)));
  const configMaps = base.filter((r) => r.template === 'configmap').map((r) => r.document.toJS());
  if (configMaps.length !== 1) throw new Error(`expected one ConfigMap from templates/configmap.yaml, got ${configMaps.length}`);
  files.set('deploy/base/webhook-config.yaml', HEADER + configMaps[0].data['config.yaml']);

  const baseObjects = new Map(base.map((r) => [identity(r.document), plain(r.document)]));
  for (const overlay of ['self-signed', 'cert-manager'] as const) {
    const rendered = splitRendering(renderings[overlay]);
    const own = OVERLAY_TEMPLATES[overlay];
    for (const template of own) files.set(`deploy/overlays/${overlay}/${template}.yaml`, fileOf(byTemplate(rendered, template)));
    const patches: Document[] = [];
    for (const { template, document } of rendered) {
      if (own.includes(template) || HELM_ONLY_TEMPLATES.includes(template)) continue;
      const id = identity(document);
      if (!baseObjects.has(id)) throw new Error(`${overlay}: the chart renders ${id} (templates/${template}.yaml) only in this mode; add its template to the overlay's files`);
      if (plain(document) === baseObjects.get(id)) continue;
      const object = withoutHelmOnlyMetadata(document).toJS();
      const annotationsOnly = structuredClone(object);
      delete annotationsOnly.metadata.annotations;
      if (overlay === 'cert-manager' && JSON.stringify(annotationsOnly) === baseObjects.get(id)) {
        patches.push(new Document({ apiVersion: object.apiVersion, kind: object.kind, metadata: { name: object.metadata.name, annotations: object.metadata.annotations } }));
        continue;
      }
      throw new Error(`${overlay}: the chart renders ${id} differently from the base; an overlay file cannot express that`);
    }
    if (overlay === 'cert-manager') {
      if (patches.length === 0) throw new Error('cert-manager: expected the webhook configurations to carry cainjector annotations');
      files.set(
        'deploy/overlays/cert-manager/inject-ca.yaml',
        HEADER +
          '# cainjector fills caBundle of every webhook in these configurations from the serving Certificate (its Secret\'s ca.crt).\n' +
          patches.map((p) => p.toString(WRITE_OPTIONS)).join('---\n'),
      );
    }
  }

  const monitoring = splitRendering(renderings.monitoring);
  for (const template of MONITORING_TEMPLATES) files.set(`deploy/monitoring/${template}.yaml`, fileOf(byTemplate(monitoring, template)));
  files.set('deploy/monitoring/prometheus-rules.yaml', HEADER + prometheusRulesFile);
  return files;
}
