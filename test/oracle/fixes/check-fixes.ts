/**
 * Every finding's Fix, applied literally (apply-fix.ts) to the manifest that triggered it, then judged again by the
 * webhook: the finding must be gone, and the fix must lead into no denial the manifest did not have already. The
 * manifests that end up admitted (after the fixes of every denial, in rounds) are what the pipeline must then load.
 */
import type { CoreDeps } from '../../../src/admission/admit-object.ts';
import { knownEppServices } from '../../../src/admission/known-epp-services.ts';
import { judgeEnvoyFilter } from '../../../src/envoyfilter/talks-to-epp.ts';
import type { Finding, RuleCode } from '../../../src/findings.ts';
import { NAMESPACE, type JsonMap } from '../corpus/building-blocks.ts';
import type { CorpusEntry } from '../corpus/corpus-entry.ts';
import { askWebhook, type WebhookVerdict } from '../webhook-verdict.ts';
import { applyFix, DuplicateKey, type Variant } from './apply-fix.ts';

/**
 * Fixes that leave a value to the user ("with the value you mean"): a variant that picks a value the rules refuse is
 * the user's choice, not the fix's fault; one variant at least must pass.
 */
const USER_PICKS_VALUE = new Set<RuleCode>(['EPP212', 'EPP222']);
/**
 * Warnings that say an EPP config no longer works as an EPP needs (the EPP is not consulted, or waits and fails). Not
 * EPP211: completions pass such a per-route override (measured: test/dataplane EPP211-per-route-trailers-skip*).
 */
export const EPP_BREAKS: ReadonlySet<RuleCode> = new Set<RuleCode>(['EPP202', 'EPP203', 'EPP204', 'EPP206']);

export interface FixProblem {
  id: string;
  code: RuleCode;
  variant: string;
  fix: string;
  problem: string;
}

export interface FixCheck {
  /** Findings whose fix was applied, by code: how many variants. */
  variants: Map<RuleCode, number>;
  problems: FixProblem[];
  /** Fix texts no reading of apply-fix.ts knows. */
  unread: { id: string; code: RuleCode; fix: string }[];
  /** Admitted manifests reached by fixing, to ask the pipeline about: id, and the codes whose fixes led there. */
  admitted: { id: string; codes: RuleCode[]; variant: string; object: JsonMap }[];
}

const key = (f: Finding) => `${f.code}@${f.path}`;
const denials = (v: WebhookVerdict) => v.findings.filter((f) => f.severity === 'deny');

/** Sites judged to talk to an EPP, by path (a TypedStruct's value as the typed_config it wraps: a fix may unwrap it). */
async function eppSites(deps: CoreDeps, verdict: WebhookVerdict): Promise<Set<string>> {
  const known = await knownEppServices(NAMESPACE, deps.resolver, deps.config);
  return new Set(judgeEnvoyFilter(verdict.stored, deps.config, known).filter((j) => j.talksToEpp).map((j) => j.path.replace(/\.typed_config\.value$/, '.typed_config')));
}

export async function checkFixes(entries: readonly CorpusEntry[], deps: CoreDeps, include: (f: Finding, before: WebhookVerdict) => boolean): Promise<FixCheck> {
  const out: FixCheck = { variants: new Map(), problems: [], unread: [], admitted: [] };
  const seenAdmitted = new Set<string>();
  for (const entry of entries) {
    const before = await askWebhook(entry.object, NAMESPACE, deps);
    const beforeKeys = new Set(before.findings.map(key));
    const beforeEpp = await eppSites(deps, before);
    const done = new Set<string>();
    for (const f of before.findings) {
      if (!include(f, before) || done.has(key(f))) continue;
      done.add(key(f));
      let variants: Variant[] | undefined;
      const problem = (variant: string, text: string) => out.problems.push({ id: entry.id, code: f.code, variant, fix: f.fix, problem: text });
      try {
        variants = applyFix(entry.object, f);
      } catch (error) {
        if (error instanceof DuplicateKey) problem('-', `the fix writes a key the manifest already has (kubectl refuses a duplicate key): ${error.message}`);
        else problem('-', `the fix cannot be applied where the finding points (${f.path}): ${(error as Error).message}`);
        continue;
      }
      if (variants === undefined) {
        out.unread.push({ id: entry.id, code: f.code, fix: f.fix });
        continue;
      }
      out.variants.set(f.code, (out.variants.get(f.code) ?? 0) + variants.length);
      const failed: string[] = [];
      for (const v of variants) {
        const after = await askWebhook(v.object, NAMESPACE, deps);
        const issues: string[] = [];
        const still = after.findings.find((g) => key(g) === key(f) || (f.code === 'EPP230' && g.code === 'EPP230' && g.location === f.location));
        if (still) issues.push(`the finding is still there: ${still.message.slice(0, 160)}`);
        // A value the user picks may be refused for what it is: only a loop counts then (below).
        if (!USER_PICKS_VALUE.has(f.code)) for (const g of denials(after)) if (!beforeKeys.has(key(g))) issues.push(`it leads into a new denial ${g.code} at ${g.path}: ${g.message.slice(0, 200)}`);
        // (c) an EPP config still works as one: no site stops talking to the EPP, and no new finding says the EPP breaks.
        const afterEpp = await eppSites(deps, after);
        // A fix that drops a patch (EPP230's HTTP_FILTER patch) moves the sites after it: then one site at least must be left.
        const dropsPatch = v.name.includes('drop');
        const forEpp = !v.name.startsWith('non-EPP:');
        if (forEpp && dropsPatch && beforeEpp.size > 0 && afterEpp.size === 0) issues.push('no ext_proc config is judged to talk to the EPP any more');
        if (forEpp && !dropsPatch) for (const site of beforeEpp) if (!afterEpp.has(site)) issues.push(`${site} is no longer judged to talk to the EPP`);
        for (const g of after.findings) {
          if (g.severity === 'warn' && !USER_PICKS_VALUE.has(f.code) && EPP_BREAKS.has(g.code) && !beforeKeys.has(key(g)) && forEpp) issues.push(`it leads into ${g.code} (the EPP breaks) at ${g.path}: ${g.message.slice(0, 160)}`);
        }
        if (issues.length > 0) failed.push(`[${v.name}] ${issues.join('; ')}`);
        if (!after.allowed && issues.length === 0) {
          // Fix what else is denied, in rounds, as a user would; a manifest that stays denied is a loop.
          const settled = await settle(v.object, deps);
          if (settled.object === undefined) failed.push(`[${v.name}] after fixing the other denials in ${ROUNDS} rounds it is still denied: ${settled.why}`);
          else remember(out, seenAdmitted, entry.id, [f.code, ...settled.codes], v.name, settled.object);
        } else if (after.allowed) remember(out, seenAdmitted, entry.id, [f.code], v.name, v.object);
      }
      const mustAllPass = !USER_PICKS_VALUE.has(f.code);
      if (mustAllPass) for (const text of failed) problem(text.slice(1, text.indexOf(']')), text.slice(text.indexOf(']') + 2));
      else if (failed.length === variants.length) problem('every', failed.join(' | '));
    }
  }
  return out;
}


function remember(out: FixCheck, seen: Set<string>, id: string, codes: RuleCode[], variant: string, object: JsonMap): void {
  const text = JSON.stringify(object);
  if (seen.has(text)) return;
  seen.add(text);
  out.admitted.push({ id, codes, variant, object });
}

const ROUNDS = 6;

/** Applies the first alternative of every denial's fix, round after round, until the webhook admits the manifest. */
async function settle(object: JsonMap, deps: CoreDeps): Promise<{ object?: JsonMap; codes: RuleCode[]; why?: string }> {
  let current = object;
  const codes: RuleCode[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const verdict = await askWebhook(current, NAMESPACE, deps);
    if (verdict.allowed) return { object: current, codes };
    const denial = denials(verdict)[0];
    let variants: Variant[] | undefined;
    try {
      variants = applyFix(current, denial);
    } catch (error) {
      return { codes, why: `${denial.code}: ${(error as Error).message}` };
    }
    if (variants === undefined || variants.length === 0) return { codes, why: `${denial.code}: no reading of its fix` };
    codes.push(denial.code);
    current = variants[0].object;
  }
  const verdict = await askWebhook(current, NAMESPACE, deps);
  return verdict.allowed ? { object: current, codes } : { codes, why: denials(verdict).map((d) => `${d.code} ${d.path}`).join(', ') };
}
