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
  /** Findings that count (severity off dropped). */
  findings: Finding[];
}

const TEMPORARY_CODES = new Set(['EPP104']);

/** Turns findings (and, for mutation, the patch to the stored object) into an admission verdict. */
export function verdictFor(subject: string, findings: readonly Finding[], patch: readonly PatchOperation[] = []): Verdict {
  const counted = findings.filter((f) => f.severity !== 'off');
  const denied = counted.filter((f) => f.severity === 'deny');
  // One line per finding: text from the object inside a finding cannot start a line of its own.
  // Each warning is one line to kubectl (`Warning: ...`): the problem and its fix go as two.
  const warnings = counted.filter((f) => f.severity === 'warn').flatMap((f) => findingAndFix(f).map(printable));
  if (denied.length > 0) {
    const temporary = denied.every((f) => TEMPORARY_CODES.has(f.code));
    const header = temporary
      ? `${subject}: cannot be admitted right now (temporary; retry)`
      : `${subject}: ${denied.length === 1 ? 'a problem' : `${denied.length} problems`} that would break the gateway`;
    return {
      allowed: false,
      code: temporary ? 503 : 403,
      message: [header, ...denied.flatMap((f) => findingAndFix(f).map(printable))].join('\n'),
      warnings,
      findings: counted,
    };
  }
  const verdict: Verdict = { allowed: true, warnings, findings: counted };
  if (patch.length > 0) verdict.patch = patch;
  return verdict;
}
