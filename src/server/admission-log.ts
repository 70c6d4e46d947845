import { hostname } from 'node:os';
import type { AdmissionRequest } from '../admission/admission-review.ts';
import { reportedFindings, type Verdict } from '../admission/verdict.ts';

export type VerdictLabel = 'allowed' | 'denied' | 'passed';

/** The fields of the one info line per admission (README, Logs): names and outcome, never the object's body. */
export interface AdmissionLogFields {
  endpoint: 'mutate' | 'validate';
  uid: string;
  kind: string;
  namespace?: string;
  name?: string;
  operation: string;
  dryRun: boolean;
  verdict: VerdictLabel;
  patched: boolean;
  codes: string[];
  durationMs: number;
}

export function admissionLogFields(endpoint: 'mutate' | 'validate', review: AdmissionRequest, verdict: Verdict, verdictLabel: VerdictLabel, seconds: number): AdmissionLogFields {
  return {
    endpoint,
    uid: review.uid,
    kind: review.kind.kind,
    namespace: review.namespace,
    name: review.name,
    operation: review.operation,
    dryRun: review.dryRun ?? false,
    verdict: verdictLabel,
    patched: verdict.patch !== undefined,
    codes: reportedFindings(verdict.findings).map((f) => f.code),
    durationMs: Math.round(seconds * 1e6) / 1e3,
  };
}

/** pino's default bindings, as it writes them after `time` on every line of the server's logger. */
const BINDINGS = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())}`;

/**
 * The admission line exactly as pino writes `log.info(fields, 'admission')` for the server's logger (same keys, order
 * and values; test/property/admission-line.property.test.ts holds it to pino's own line), built in one template. pino's
 * per-field path (a serializer and a stringifier looked up per key, its own escaping loop) took 23.4k instructions per
 * line, this 8.7k (bench/shell-instructions.ts; docs/performance.md, round 10): it was the largest piece of the server
 * around the rules. JSON.stringify escapes every string taken from the request.
 */
export function admissionLine(fields: AdmissionLogFields, time = Date.now()): string {
  const namespace = fields.namespace === undefined ? '' : `,"namespace":${JSON.stringify(fields.namespace)}`;
  const name = fields.name === undefined ? '' : `,"name":${JSON.stringify(fields.name)}`;
  return (
    `{"level":30,"time":${time}${BINDINGS},"endpoint":"${fields.endpoint}","uid":${JSON.stringify(fields.uid)},"kind":${JSON.stringify(fields.kind)}` +
    `${namespace}${name},"operation":${JSON.stringify(fields.operation)},"dryRun":${fields.dryRun},"verdict":"${fields.verdict}",` +
    `"patched":${fields.patched},"codes":${JSON.stringify(fields.codes)},"durationMs":${fields.durationMs},"msg":"admission"}\n`
  );
}
