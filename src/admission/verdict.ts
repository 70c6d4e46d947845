import type { PatchOperation } from '../copy-on-write.ts';
import { findingAndFix, type Finding } from '../findings.ts';
import { printable } from './printable.ts';

export interface Verdict {
  allowed: boolean;
  /** HTTP-style status for a denial: 403 for a policy denial, 503 when only a temporary condition denied. */
  code?: number;
  message?: string;
  warnings: string[];
  /** RFC 6902 operations turning the request object into the stored one; absent when nothing changed. */
  patch?: readonly PatchOperation[];
  /** Findings that count (severity off dropped), at most MAX_REPORTED_FINDINGS of each severity: the ones the answer spells out. */
  findings: Finding[];
}

const TEMPORARY_CODES = new Set(['EPP104']);

/**
 * Findings one answer spells out per severity; past them it says how many more. Findings grow with the object: one
 * EnvoyFilter of 11,000 copies of a bad ext_proc patch (6.7 MB, under maxRequestBytes) drew 33,000 and a 35 MB answer,
 * which with the server's own memory passes deploy/'s 320Mi limit (docs/reliability.md, fix 11). `check` lists them all.
 */
export const MAX_REPORTED_FINDINGS = 50;

/** Turns findings (and, for mutation, the patch to the stored object) into an admission verdict. */
export function verdictFor(subject: string, findings: readonly Finding[], patch: readonly PatchOperation[] = []): Verdict {
  const counted = findings.filter((f) => f.severity !== 'off');
  // The answer, the log line and the metrics report the first MAX_REPORTED_FINDINGS of each severity, in their order.
  const reported = counted.length > MAX_REPORTED_FINDINGS ? firstOfEachSeverity(counted) : counted;
  const denied = reported.filter((f) => f.severity === 'deny');
  const denials = reported === counted ? denied.length : counted.filter((f) => f.severity === 'deny').length;
  const warns = reported === counted ? reported.length - denials : counted.length - denials;
  // One line per finding: text from the object inside a finding cannot start a line of its own.
  // Each warning is one line to kubectl (`Warning: ...`): the problem and its fix go as two.
  const warnings = reported.filter((f) => f.severity === 'warn').flatMap((f) => findingAndFix(f).map(printable));
  if (warns > MAX_REPORTED_FINDINGS) warnings.push(`${count(warns)} warnings in all (${READ_ON})`);
  if (denied.length > 0) {
    const temporary = denied.every((f) => TEMPORARY_CODES.has(f.code));
    const header = temporary
      ? `${subject}: cannot be admitted right now (temporary; retry)`
      : `${subject}: ${denials === 1 ? 'a problem' : `${count(denials)} problems`} that would break the gateway${denials > MAX_REPORTED_FINDINGS ? ` (${READ_ON})` : ''}`;
    // Every line after the header is a finding's: the count of the rest goes in the header.
    const message = [header, ...denied.flatMap((f) => findingAndFix(f).map(printable))].join('\n');
    return { allowed: false, code: temporary ? 503 : 403, message, warnings, findings: reported };
  }
  const verdict: Verdict = { allowed: true, warnings, findings: reported };
  if (patch.length > 0) verdict.patch = patch;
  return verdict;
}

function firstOfEachSeverity(findings: readonly Finding[]): Finding[] {
  let denials = 0;
  let warns = 0;
  return findings.filter((f) => (f.severity === 'deny' ? ++denials : ++warns) <= MAX_REPORTED_FINDINGS);
}

const READ_ON = `the first ${MAX_REPORTED_FINDINGS} here; epp-webhook check on the manifest lists every one`;
const count = (n: number) => n.toLocaleString('en-US');
