import { hostname } from 'node:os';
import type { AdmissionRequest } from '../admission/admission-review.ts';
import { cutPoint } from '../admission/printable.ts';
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

/**
 * Characters of one request field the line keeps: more than a Kubernetes name (253) holds. The review reaches the
 * webhook before anything validates it, and a kind of a megabyte would otherwise make a line of a megabyte.
 */
export const MAX_LOGGED_FIELD = 256;

const bounded = (text: string): string => (text.length <= MAX_LOGGED_FIELD ? text : `${text.slice(0, cutPoint(text, MAX_LOGGED_FIELD))}…`);

export function admissionLogFields(endpoint: 'mutate' | 'validate', review: AdmissionRequest, verdict: Verdict, verdictLabel: VerdictLabel, seconds: number): AdmissionLogFields {
  return {
    endpoint,
    uid: bounded(review.uid),
    kind: bounded(review.kind.kind),
    namespace: review.namespace === undefined ? undefined : bounded(review.namespace),
    name: review.name === undefined ? undefined : bounded(review.name),
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
 * and values; test/property/admission-line.property.test.ts holds it to pino's own line), built in one template; only
 * U+0085, U+2028 and U+2029, which pino writes raw, are written as escapes. pino's
 * per-field path (a serializer and a stringifier looked up per key, its own escaping loop) took 23.4k instructions per
 * line, this 8.7k (bench/shell-instructions.ts; docs/performance.md, round 10): it was the largest piece of the server
 * around the rules.
 */
export function admissionLine(fields: AdmissionLogFields, time = Date.now()): string {
  const namespace = fields.namespace === undefined ? '' : `,"namespace":${jsonString(fields.namespace)}`;
  const name = fields.name === undefined ? '' : `,"name":${jsonString(fields.name)}`;
  return (
    `{"level":30,"time":${time}${BINDINGS},"endpoint":"${fields.endpoint}","uid":${jsonString(fields.uid)},"kind":${jsonString(fields.kind)}` +
    `${namespace}${name},"operation":${jsonString(fields.operation)},"dryRun":${fields.dryRun},"verdict":"${fields.verdict}",` +
    `"patched":${fields.patched},"codes":${JSON.stringify(fields.codes)},"durationMs":${fields.durationMs},"msg":"admission"}\n`
  );
}

// Valid raw in a JSON string, and left raw by JSON.stringify (and pino), yet a line break to many log viewers.
const LINE_BREAKING = /[\u0085\u2028\u2029]/;
const LINE_BREAKINGS = new RegExp(LINE_BREAKING.source, 'g');

/** A JSON string that is one line to every reader: the same value when parsed, the line breakers written as escapes. */
function jsonString(text: string): string {
  const json = JSON.stringify(text);
  return LINE_BREAKING.test(json) ? json.replace(LINE_BREAKINGS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : json;
}
