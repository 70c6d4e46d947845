import type { AdmittedObject } from '../manifests/admit-manifests.ts';
import type { InputProblem, SkippedInput } from '../manifests/read-manifests.ts';

/** What `epp-webhook check` found: every report format is a pure function of this. */
export interface CheckResults {
  objects: AdmittedObject[];
  problems: InputProblem[];
  /** Input that is not ours to check: Helm templates (reported as notes) and files that are no manifests (counted). */
  skipped: SkippedInput[];
  /** Files (and standard input) read. */
  files: number;
}

export interface CheckSummary {
  objects: number;
  admitted: number;
  denied: number;
  warnings: number;
  unusableInputs: number;
  files: number;
  helmTemplates: number;
  notKubernetes: number;
}

export function summarize(results: CheckResults): CheckSummary {
  const admitted = results.objects.filter((o) => o.admitted).length;
  return {
    objects: results.objects.length,
    admitted,
    denied: results.objects.length - admitted,
    warnings: results.objects.reduce((n, o) => n + o.findings.filter((f) => f.severity === 'warn').length, 0),
    unusableInputs: results.problems.length,
    files: results.files,
    helmTemplates: helmTemplates(results).length,
    notKubernetes: results.skipped.filter((s) => s.reason === 'not-kubernetes').length,
  };
}

export function helmTemplates(results: CheckResults): SkippedInput[] {
  return results.skipped.filter((s) => s.reason === 'helm-template');
}

/** `EnvoyFilter llm-d/epp-ext-proc` */
export function objectLabel(object: AdmittedObject): string {
  return `${object.kind} ${object.namespace}/${object.name}`;
}

/** `document 2`, or `document 2, items[3]` for an item of a List. */
export function placeLabel(object: AdmittedObject): string {
  return object.at.length === 2 ? `document ${object.document}, items[${object.at[1]}]` : `document ${object.document}`;
}
