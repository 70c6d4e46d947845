import t from 'tap';
import { readFileSync } from 'node:fs';
import { EPP_PROTOCOL_RULES } from '../../src/envoyfilter/epp-protocol-rules.ts';
import { RULES, type RuleCode } from '../../src/findings.ts';
import { admissionLine } from '../../src/server/admission-log.ts';
import { CLAIM_LABELS, RULE_CLAIMS } from '../oracle/rule-claims.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

t.test('the README documents every rule code with its default severity', async (t) => {
  for (const [code, rule] of Object.entries(RULES)) {
    t.match(readme, new RegExp(`\\| ${code} \\| ${rule.severity}`), code);
  }
});

t.test("the rule table's last column is the claim the differential test checks for that rule", async (t) => {
  for (const code of Object.keys(RULES) as RuleCode[]) {
    const row = readme.split('\n').find((line) => line.startsWith(`| ${code} |`));
    const claim = RULE_CLAIMS[code];
    t.ok(claim, `${code} has a claim in test/oracle/rule-claims.ts`);
    t.ok(row?.endsWith(`| ${claim ? CLAIM_LABELS[claim] : '?'} |`), `${code}: ${claim}`);
  }
});

t.test('the rules the README marks *EPP only* are the ones held only against configs judged to talk to an EPP', async (t) => {
  const marked = [...readme.matchAll(/^\| (EPP\d{3}) \| \w+ \| \*EPP only\.\*/gm)].map((m) => m[1]);
  t.same(marked.sort(), [...EPP_PROTOCOL_RULES].sort());
});

t.test('the codes the README says cannot be set below deny are exactly the ones the config refuses to relax', async (t) => {
  const sentence = readme.match(/Codes whose relaxation would store a broken object \(([^)]*)\)/);
  t.ok(sentence, 'the sentence is in the README');
  const listed = [...(sentence?.[1] ?? '').matchAll(/`(EPP\d{3})`(?:-`(EPP\d{3})`)?/g)].flatMap(([, first, last]) => {
    if (last === undefined) return [first];
    const codes: string[] = [];
    for (let n = Number(first.slice(3)); n <= Number(last.slice(3)); n++) codes.push(`EPP${n}`);
    return codes;
  });
  const refused = Object.entries(RULES).filter(([, rule]) => !rule.relaxable).map(([code]) => code);
  t.same(listed.sort(), refused.sort());
});

t.test('both lists of admission log fields in the README (Logs, Troubleshoot) name exactly the fields of the line', async (t) => {
  const line = admissionLine({ endpoint: 'mutate', uid: 'u', kind: 'EnvoyFilter', namespace: 'ns', name: 'n', operation: 'CREATE', dryRun: false, verdict: 'allowed', patched: true, codes: [], durationMs: 1 });
  const pinoOwn = new Set(['level', 'time', 'pid', 'hostname', 'msg']);
  const fields = Object.keys(JSON.parse(line)).filter((key) => !pinoOwn.has(key));
  const lists = [...readme.matchAll(/(?:One JSON line per admission at `info`|Admission log fields): ([^.;]*)/g)];
  t.equal(lists.length, 2);
  for (const [, list] of lists) t.same([...list.replace(/\([^)]*\)/g, '').matchAll(/`(\w+)`/g)].map((m) => m[1]), fields);
});

t.test('the README opens with the install-and-run and the test commands', async (t) => {
  const firstBlock = readme.split('```')[1];
  t.match(firstBlock, /npm ci && npm start/);
  t.match(firstBlock, /npm ci && npm test/);
});
