import type { Finding, RuleCode } from '../findings.ts';
import { EPP_ANNOTATION, isHintOnly, type EppJudgement } from './talks-to-epp.ts';

/**
 * The rules that speak for the EPP (what it answers, how it serves), as opposed to what Envoy and Istio enforce on
 * every ext_proc config. They hold only for configs judged to talk to an EPP: a WAF may well want BUFFERED bodies.
 */
export const EPP_PROTOCOL_RULES: ReadonlySet<RuleCode> = new Set<RuleCode>(['EPP202', 'EPP204', 'EPP205', 'EPP206', 'EPP207', 'EPP220', 'EPP230', 'EPP231', 'EPP233', 'EPP306', 'EPP322']);

/**
 * The findings of one ext_proc config as its judgement allows: EPP rules dropped where it does not talk to an EPP,
 * at most warnings where only a name or a port suggests it does, and each kept one saying why it was judged an EPP.
 */
export function applyJudgement(findings: readonly Finding[], judgement: EppJudgement): Finding[] {
  const kept: Finding[] = [];
  for (const f of findings) {
    if (!EPP_PROTOCOL_RULES.has(f.code)) kept.push(f);
    else if (!judgement.talksToEpp) continue;
    else if (!isHintOnly(judgement.evidence)) kept.push({ ...f, message: `${f.message} (judged an EPP: ${judgement.reason})` });
    else kept.push({ ...f, severity: f.severity === 'deny' ? 'warn' : f.severity, message: `${f.message} (judged an EPP only on a hint: ${judgement.reason}; annotate ${EPP_ANNOTATION}: "true" to confirm, "false" if it is not one)` });
  }
  return kept;
}
