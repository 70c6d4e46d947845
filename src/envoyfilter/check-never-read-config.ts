import type { Finding, RuleCode, SeverityOverrides } from '../findings.ts';
import { checkExtProcFields } from './check-ext-proc-fields.ts';
import { checkOverrideMode } from './check-processing-mode.ts';
import { siteReading, type ExtProcSite } from './ext-proc-configs.ts';

/** The rules that find what istiod refuses at kubectl apply in an ext_proc config (test/oracle/rule-claims.ts). */
export const ISTIOD_REFUSES: ReadonlySet<RuleCode> = new Set(['EPP201', 'EPP214', 'EPP307']);

/**
 * An ExtProcPerRoute Envoy never reads (the config of a FilterConfig with disabled: true, collectExtProcConfigs):
 * istiod converts it all the same and refuses the object for what it cannot convert, so that is judged; what Envoy
 * would reject in it, or the EPP would make of it, is not.
 */
export function checkNeverReadConfig(site: ExtProcSite, severities: SeverityOverrides): Finding[] {
  const reading = siteReading(site);
  const findings = [
    ...checkExtProcFields({ config: site.config, kind: 'per-route', segments: site.segments, patchIndex: site.patch.index, reading, severities }),
    ...checkOverrideMode(site, reading, severities),
  ];
  return findings.filter((found) => ISTIOD_REFUSES.has(found.code));
}
