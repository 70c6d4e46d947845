import t from 'tap';
import { verdictFor } from '../../../src/admission/verdict.ts';
import { WARNING_CUT_TO_RUNES, WARNINGS_PASSED_WHOLE_RUNES, warningsCutNote } from '../../../src/admission/warning-budget.ts';
import { findingAndFix, formatCount, type Finding } from '../../../src/findings.ts';

/** A warning finding whose two lines (problem and fix) are `runes` runes together, in ASCII or in `unit` characters. */
const warning = (i: number, runes: number, unit = 'x'): Finding => {
  const problem = `[EPP205] configPatches[${i}] `;
  const fix = `[EPP205] Fix: ${i} `;
  const body = runes - problem.length - fix.length;
  return { code: 'EPP205', severity: 'warn', location: `configPatches[${i}]`, path: `spec.configPatches[${i}]`, message: unit.repeat(Math.ceil(body / 2)), fix: `${i} ${unit.repeat(Math.floor(body / 2))}` };
};
const runesOf = (lines: readonly string[]) => lines.reduce((n, line) => n + [...line].length, 0);

t.test('warnings that fit kube-apiserver are passed on as they are', async (t) => {
  const verdict = verdictFor('EnvoyFilter ns/a', [warning(0, 2000), warning(1, 2096)]);
  t.equal(runesOf(verdict.warnings), WARNINGS_PASSED_WHOLE_RUNES, 'exactly the bound');
  t.equal(verdict.warnings.length, 4, 'no note');
  t.match(verdict.warnings[0], /^\[EPP205\] configPatches\[0\] x+$/);
});

t.test('one rune past the bound: a note goes first, short enough to be passed on whole, counting the runes', async (t) => {
  const verdict = verdictFor('EnvoyFilter ns/a', [warning(0, 2000), warning(1, 2097)]);
  t.equal(verdict.warnings.length, 5);
  const note = verdict.warnings[0];
  t.ok([...note].length <= WARNING_CUT_TO_RUNES, `the note is ${[...note].length} runes`);
  t.match(note, /^these warnings are 4,097 characters: past 4,096 in one request, kube-apiserver cuts each to 256 characters .* epp-webhook check on the manifest prints every one whole$/);
  t.same(verdict.warnings.slice(1), [warning(0, 2000), warning(1, 2097)].flatMap(findingAndFix), "the findings follow, whole: the cut is the apiserver's");
  t.equal(runesOf(verdict.warnings.slice(1)), 4097);
});

t.test('runes, not UTF-16 units, as the apiserver counts: an astral character is one', async (t) => {
  // 😀 is two UTF-16 units: 4,000 runes of it are 8,000 units, within the bound.
  const astral = verdictFor('EnvoyFilter ns/a', [warning(0, 4000, '😀')]);
  t.ok(astral.warnings.join('').length > WARNINGS_PASSED_WHOLE_RUNES, 'over the bound in units');
  t.ok(runesOf(astral.warnings) <= WARNINGS_PASSED_WHOLE_RUNES, 'within it in runes');
  t.notMatch(astral.warnings[0], /^these warnings/, 'no note');
});

t.test('identical lines count once, as the apiserver records a text once', async (t) => {
  const same = warning(0, 2100);
  t.equal(verdictFor('EnvoyFilter ns/a', [same, same]).warnings.length, 4, 'two copies of 2,100 runes are 2,100: no note');
  t.equal(warningsCutNote([...verdictFor('EnvoyFilter ns/a', [same]).warnings, ...verdictFor('EnvoyFilter ns/a', [same]).warnings]), undefined);
  t.match(verdictFor('EnvoyFilter ns/a', [same, warning(1, 2100)]).warnings[0], /^these warnings are 4,200 characters/);
});

t.test('after the count of a flood, and on a denial too', async (t) => {
  const flood = Array.from({ length: 60 }, (_, i) => warning(i, 100));
  const verdict = verdictFor('EnvoyFilter ns/flood', [{ ...warning(99, 50), severity: 'deny' }, ...flood]);
  t.equal(verdict.allowed, false);
  t.match(verdict.warnings[0], /^60 warnings in all/, 'the count stays first');
  t.match(verdict.warnings[1], `these warnings are ${formatCount(5000 + [...verdict.warnings[0]].length)} characters`, 'the count line is counted too');
  t.equal(verdict.warnings.length, 2 + 100);
});
