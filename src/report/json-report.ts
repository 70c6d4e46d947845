import { summarize, type CheckResults } from './check-results.ts';

/** The results as one JSON document, for scripts: `jq '.objects[] | select(.admitted | not)'`. */
export function jsonReport(results: CheckResults): string {
  const report = {
    summary: summarize(results),
    objects: results.objects.map((o) => ({
      file: o.file,
      document: o.document,
      line: o.line,
      ...(o.at.length > 0 ? { item: o.at[1] } : {}),
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      admitted: o.admitted,
      substitutions: o.substitutions,
      extProc: o.extProc.map((j) => ({ line: j.line, location: j.location, path: j.path, talksToEpp: j.talksToEpp, evidence: j.evidence, reason: j.reason })),
      findings: o.findings.map((f) => ({
        code: f.code,
        severity: f.severity,
        line: f.line,
        location: f.location,
        path: f.path,
        message: f.message,
        fix: f.fix,
      })),
    })),
    problems: results.problems,
    skipped: results.skipped,
  };
  return JSON.stringify(report, null, 2) + '\n';
}
