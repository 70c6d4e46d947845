import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath, type PathSegments } from '../json-path.ts';
import { patchLocation } from './config-patches.ts';
import { rejectsUpdate } from './envoy-rejects-update.ts';
import { visitObjects, type ExtProcSite } from './ext-proc-configs.ts';

/**
 * What a regular expression uses that RE2, Envoy's regex engine, does not have: lookaround, backreferences, atomic
 * groups, possessive quantifiers (the constructs of PCRE and JavaScript people write "everything but" with). Escapes
 * and character classes are stepped over; undefined when there is none.
 */
export function re2Lacks(regex: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < regex.length; i++) {
    const c = regex[i];
    if (c === '\\') {
      if (!inClass && /[1-9]/.test(regex[i + 1] ?? '')) return `a backreference (\\${regex[i + 1]})`;
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      if (regex[i + 1] === ']') i++;
      continue;
    }
    if (c === '(' && regex[i + 1] === '?') {
      const rest = regex.slice(i + 2, i + 4);
      if (rest.startsWith('=') || rest.startsWith('!')) return `a lookahead (${regex.slice(i, i + 3)})`;
      if (rest === '<=' || rest === '<!') return `a lookbehind (${regex.slice(i, i + 4)})`;
      if (rest.startsWith('>')) return 'an atomic group ((?>)';
    }
    if ((c === '*' || c === '+' || c === '?' || c === '}') && regex[i + 1] === '+' && i > 0) return `a possessive quantifier (${c}+)`;
  }
  return undefined;
}

/** Every RegexMatcher (`regex: ...`) in an ext_proc config (mutation_rules, forward_rules) RE2 cannot compile. */
export function checkRegexes(site: ExtProcSite, severities: SeverityOverrides): Finding[] {
  const findings: Finding[] = [];
  visitObjects(site.config, [...site.segments], (object, segments: PathSegments) => {
    const regex = object.regex;
    if (typeof regex !== 'string') return;
    const lacks = re2Lacks(regex);
    if (lacks === undefined) return;
    findings.push(
      finding(
        'EPP226',
        severities,
        { location: patchLocation(site.patch.index), path: formatPath([...segments, 'regex']) },
        `ext_proc regex ${JSON.stringify(regex)} uses ${lacks}, which RE2, Envoy's regex engine, does not have: Envoy ${rejectsUpdate(site.kind)}`,
        'write the regex in RE2 syntax, without lookaround, backreferences, atomic groups or possessive quantifiers (to refuse some headers, list them in disallow_expression rather than excluding them from allow_expression)',
      ),
    );
  });
  return findings;
}
