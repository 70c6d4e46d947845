import type { PatchOperation } from '../copy-on-write.ts';
import { findingAndFix, formatCount, type Finding } from '../findings.ts';
import { printable } from './printable.ts';
import { warningsCutNote } from './warning-budget.ts';

export interface Verdict {
  allowed: boolean;
  /** HTTP-style status for a denial: 403 for a policy denial, 503 when only a temporary condition denied. */
  code?: number;
  message?: string;
  warnings: string[];
  /** RFC 6902 operations turning the request object into the stored one; absent when nothing changed. */
  patch?: readonly PatchOperation[];
  /** Findings that count (severity off dropped), every one: the metrics count them all. */
  findings: Finding[];
}

const TEMPORARY_CODES = new Set(['EPP104']);

/**
 * Findings one answer spells out per severity; past them it says how many there are. Findings grow with the object:
 * one EnvoyFilter of 8,000 copies of a bad ext_proc patch (4.85 MB, inside the body limits) drew 24,001 findings, a
 * 25 MB answer and a 304 MB peak RSS under deploy/'s heap caps (docs/reliability.md, fix 11). `check` lists them all.
 */
export const MAX_REPORTED_FINDINGS = 50;

/** Turns findings (and, for mutation, the patch to the stored object) into an admission verdict. */
export function verdictFor(subject: string, findings: readonly Finding[], patch: readonly PatchOperation[] = []): Verdict {
  const counted = findings.filter((f) => f.severity !== 'off');
  const denied = counted.filter((f) => f.severity === 'deny');
  const warns = counted.length - denied.length;
  // One line per finding: text from the object inside a finding cannot start a line of its own.
  // Each warning is one line to kubectl (`Warning: ...`): the problem and its fix go as two.
  const warnings = firstOfEach(counted.filter((f) => f.severity === 'warn')).flatMap((f) => findingAndFix(f).map(printable));
  // First, so that a client keeping only the first warnings still learns there are more.
  const flood = warns > MAX_REPORTED_FINDINGS;
  if (flood) warnings.unshift(`${formatCount(warns)} warnings in all (${READ_ON})`);
  // Next, so that kubectl shows it whole when kube-apiserver cuts the rest short.
  const cut = warningsCutNote(warnings);
  if (cut !== undefined) warnings.splice(flood ? 1 : 0, 0, cut);
  if (denied.length > 0) {
    const temporary = denied.every((f) => TEMPORARY_CODES.has(f.code));
    const header = temporary
      ? `${subject}: cannot be admitted right now (temporary; retry)`
      : `${subject}: ${denied.length === 1 ? 'a problem' : `${formatCount(denied.length)} problems`} that would break the gateway${denied.length > MAX_REPORTED_FINDINGS ? ` (${READ_ON})` : ''}`;
    // Every line after the header is a finding's: the count of the rest goes in the header.
    const message = [header, ...firstOfEach(denied).flatMap((f) => findingAndFix(f).map(printable))].join('\n');
    return { allowed: false, code: temporary ? 503 : 403, message, warnings, findings: counted };
  }
  const verdict: Verdict = { allowed: true, warnings, findings: counted };
  if (patch.length > 0) verdict.patch = patch;
  return verdict;
}

/** The findings an answer spells out: the first MAX_REPORTED_FINDINGS of each severity, in their order (the log line's codes too). */
export function reportedFindings(findings: readonly Finding[]): readonly Finding[] {
  if (findings.length <= MAX_REPORTED_FINDINGS) return findings;
  let denials = 0;
  let warns = 0;
  return findings.filter((f) => (f.severity === 'deny' ? ++denials : ++warns) <= MAX_REPORTED_FINDINGS);
}

const firstOfEach = (findings: Finding[]): Finding[] => (findings.length > MAX_REPORTED_FINDINGS ? findings.slice(0, MAX_REPORTED_FINDINGS) : findings);

const READ_ON = `the first ${MAX_REPORTED_FINDINGS} here; epp-webhook check on the manifest lists every one`;
