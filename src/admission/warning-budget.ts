import { formatCount } from '../findings.ts';

/**
 * kube-apiserver's bounds on one request's warnings (k8s.io/apiserver, pkg/endpoints/filters/warning.go): while their
 * text stays within 4,096 runes each is passed on whole; past that it cuts every warning, those already taken too, to
 * 256 runes, and takes no more once 4,096 are written. A text it was given before counts once.
 */
export const WARNINGS_PASSED_WHOLE_RUNES = 4096;
export const WARNING_CUT_TO_RUNES = 256;

/**
 * The line that goes first in an answer whose warnings kube-apiserver will cut (it stays under 256 runes, so it is passed
 * on whole): kubectl then says why the lines end short and where the whole text is. Undefined when they fit. Only this
 * answer's warnings are counted: another webhook's on the same request (the mutating one's, say) share the bound.
 */
export function warningsCutNote(warnings: readonly string[]): string | undefined {
  // A rune is one or two UTF-16 units: warnings within 4,096 units (almost every answer) fit without counting runes.
  let units = 0;
  for (const warning of warnings) units += warning.length;
  if (units <= WARNINGS_PASSED_WHOLE_RUNES) return undefined;
  let runes = 0;
  for (const warning of new Set(warnings)) for (const _ of warning) runes++;
  if (runes <= WARNINGS_PASSED_WHOLE_RUNES) return undefined;
  return `these warnings are ${formatCount(runes)} characters: past ${formatCount(WARNINGS_PASSED_WHOLE_RUNES)} in one request, kube-apiserver cuts each to ${WARNING_CUT_TO_RUNES} characters and adds no more once ${formatCount(WARNINGS_PASSED_WHOLE_RUNES)} are written; epp-webhook check on the manifest prints every one whole`;
}
