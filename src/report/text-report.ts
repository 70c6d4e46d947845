import { isHintOnly, type ExtProcJudgement } from '../envoyfilter/talks-to-epp.ts';
import type { AdmittedObject, LocatedFinding, LocatedJudgement } from '../manifests/admit-manifests.ts';
import type { InputProblem, SkippedInput } from '../manifests/read-manifests.ts';
import { helmTemplates, objectLabel, placeLabel, summarize, type CheckResults } from './check-results.ts';

/**
 * Per finding a `file:line: severity: [CODE] message` line as compilers write them, so editors and CI log matchers
 * can jump to the line, with the object, the path and the fix indented below it; then the summary.
 */
export function textReport(results: CheckResults): string {
  const lines: string[] = [];
  for (const problem of results.problems) lines.push(problemLine(problem));
  for (const template of helmTemplates(results)) lines.push(skippedLine(template));
  for (const object of results.objects) {
    for (const judgement of object.extProc) lines.push(judgementLine(object, judgement));
    for (const finding of object.findings) lines.push(findingLine(object, finding));
  }
  lines.push(summaryLine(results));
  return lines.join('\n') + '\n';
}

/**
 * The code and what is wrong first, where a reader of a terminal or a CI log looks; where and the fix below:
 *
 *     guide.yaml:24: warning: [EPP304] REPLACE on subFilter envoy.filters.http.ext_proc is a silent no-op ...
 *         in EnvoyFilter ns/name (document 1) at spec.configPatches[0].patch.operation
 *         fix: use operation: INSERT_BEFORE with subFilter envoy.filters.http.router to add the filter
 */
export function findingLine(object: AdmittedObject, finding: LocatedFinding): string {
  const severity = finding.severity === 'deny' ? 'error' : 'warning';
  return [
    `${object.file}:${finding.line}: ${severity}: [${finding.code}] ${finding.message}`,
    `    in ${objectLabel(object)} (${placeLabel(object)}) at ${finding.path}`,
    `    fix: ${finding.fix}`,
  ].join('\n');
}

/** `guide.yaml:27: note: EnvoyFilter ns/name (document 1) configPatches[0]: ext_proc judged an EPP: placeholder EPP_SERVICE_CLUSTER_IP` */
export function judgementLine(object: AdmittedObject, judgement: LocatedJudgement): string {
  return `${object.file}:${judgement.line}: note: ${objectLabel(object)} (${placeLabel(object)}) ${judgement.location}: ext_proc ${judgementSummary(judgement)}`;
}

/** `judged an EPP: <reason>`, `judged an EPP on a hint (EPP rules warn at most): ...`, `judged no EPP (EPP rules skipped): ...` */
export function judgementSummary(judgement: ExtProcJudgement): string {
  if (!judgement.talksToEpp) return `judged no EPP (EPP rules skipped): ${judgement.reason}`;
  if (isHintOnly(judgement.evidence)) return `judged an EPP on a hint (EPP rules warn at most): ${judgement.reason}`;
  return `judged an EPP: ${judgement.reason}`;
}

/** `broken.yaml:5:1: error: YAML syntax: ...` */
export function problemLine(problem: InputProblem): string {
  const position = problem.line === undefined ? '' : problem.column === undefined ? `:${problem.line}` : `:${problem.line}:${problem.column}`;
  return `${problem.file}${position}: error: ${problem.message}`;
}

/** `chart/templates/filter.yaml:7: note: looks like a Helm template ...` */
export function skippedLine(skipped: SkippedInput): string {
  return `${skipped.file}${skipped.line === undefined ? '' : `:${skipped.line}`}: note: ${skipped.message}`;
}

/** Nothing was checked: a CI step pointed at the wrong path would otherwise stay green. */
export function nothingCheckedLine(results: CheckResults, failOnEmpty: boolean): string {
  const summary = summarize(results);
  const skipped = summary.helmTemplates + summary.notKubernetes;
  const read = `${plural(summary.files, 'file')} read${skipped > 0 ? `, ${skipped} not Kubernetes manifests or Helm templates` : ''}`;
  const what = `nothing checked: no EnvoyFilter, HTTPRoute or DestinationRule in the input (${read})`;
  return failOnEmpty ? `epp-webhook check: error: ${what}` : `epp-webhook check: warning: ${what}; --fail-on-empty makes this an error`;
}

/** `3 objects checked: 2 admitted, 1 denied, 5 warnings` */
export function summaryLine(results: CheckResults): string {
  const summary = summarize(results);
  let line = `${plural(summary.objects, 'object')} checked: ${summary.admitted} admitted, ${summary.denied} denied, ${plural(summary.warnings, 'warning')}`;
  if (summary.objects === 0) line += ' (no EnvoyFilter, HTTPRoute or DestinationRule found)';
  if (summary.helmTemplates > 0) line += `; ${plural(summary.helmTemplates, 'Helm template')} not checked`;
  if (summary.unusableInputs > 0) line += `; ${plural(summary.unusableInputs, 'unusable input')}`;
  return line;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
