import t from 'tap';
import { MAX_REPORTED_FINDINGS, reportedFindings, verdictFor } from '../../../src/admission/verdict.ts';
import type { Finding } from '../../../src/findings.ts';

const finding = (severity: 'deny' | 'warn' | 'off', i: number): Finding => ({
  code: severity === 'deny' ? 'EPP202' : 'EPP205',
  severity,
  location: `configPatches[${i}]`,
  path: `spec.configPatches[${i}]`,
  message: `finding ${i}`,
  fix: `fix ${i}`,
});
/** `denials` denials and `warns` warnings, interleaved, and a finding switched off between them. */
const findings = (denials: number, warns: number): Finding[] => {
  const all: Finding[] = [];
  for (let i = 0; i < Math.max(denials, warns); i++) {
    if (i < denials) all.push(finding('deny', i));
    if (i < warns) all.push(finding('warn', i));
    all.push(finding('off', i));
  }
  return all;
};

t.test(`an answer spells out ${MAX_REPORTED_FINDINGS} findings of each severity and says how many more`, async (t) => {
  const verdict = verdictFor('EnvoyFilter ns/flood', findings(120, 60));
  const lines = verdict.message!.split('\n');
  t.equal(lines[0], 'EnvoyFilter ns/flood: 120 problems that would break the gateway (the first 50 here; epp-webhook check on the manifest lists every one)', 'the header counts every problem');
  t.equal(lines.length, 1 + 2 * MAX_REPORTED_FINDINGS);
  t.ok(lines.slice(1).every((line) => /^\[EPP\d{3}\] /.test(line)), 'every line after the header is a coded finding');
  t.equal(lines[1], '[EPP202] configPatches[0] finding 0');
  t.equal(lines[2 * MAX_REPORTED_FINDINGS], `[EPP202] Fix: fix ${MAX_REPORTED_FINDINGS - 1}`, 'the first ones, in order');
  t.equal(verdict.warnings.length, 2 * MAX_REPORTED_FINDINGS + 1);
  t.equal(verdict.warnings[0], '60 warnings in all (the first 50 here; epp-webhook check on the manifest lists every one)', 'the count first: a client that keeps only the first warnings still sees it');
  t.equal(verdict.warnings[1], '[EPP205] configPatches[0] finding 0');
  t.equal(verdict.findings.length, 180, 'the metrics count every finding');
  t.ok(verdict.findings.every((f) => f.severity !== 'off'));
  const logged = reportedFindings(verdict.findings);
  t.equal(logged.length, 2 * MAX_REPORTED_FINDINGS, "the log line's codes are those the answer spells out");
  t.same(logged.slice(0, 4).map((f) => f.location), ['configPatches[0]', 'configPatches[0]', 'configPatches[1]', 'configPatches[1]'], 'in their order');
});

t.test('a flood of temporary denials with one lasting problem is not called temporary', async (t) => {
  const temporary = Array.from({ length: 60 }, (_, i): Finding => ({ ...finding('deny', i), code: 'EPP104' }));
  const verdict = verdictFor('EnvoyFilter ns/mixed', [...temporary, finding('deny', 60)]);
  t.equal(verdict.code, 403);
  t.match(verdict.message!, /^EnvoyFilter ns\/mixed: 61 problems that would break the gateway/);
  t.same(verdict.findings.map((f) => f.code).filter((c) => c === 'EPP202'), ['EPP202'], 'the lasting problem is counted');
});

t.test(`${MAX_REPORTED_FINDINGS} of each: every one spelled out, no line about more`, async (t) => {
  const verdict = verdictFor('EnvoyFilter ns/many', findings(MAX_REPORTED_FINDINGS, MAX_REPORTED_FINDINGS));
  t.equal(verdict.message!.split('\n').length, 1 + 2 * MAX_REPORTED_FINDINGS);
  t.notMatch(verdict.message!, 'the first 50 here');
  t.notMatch(verdict.warnings.join('\n'), 'the first 50 here');
  t.equal(verdict.warnings.length, 2 * MAX_REPORTED_FINDINGS);
  t.equal(verdict.findings.length, 2 * MAX_REPORTED_FINDINGS);
  t.equal(reportedFindings(verdict.findings).length, 2 * MAX_REPORTED_FINDINGS);
});

t.test('an admitted object with a flood of warnings keeps its patch and says how many more warnings', async (t) => {
  const patch = [{ op: 'add' as const, path: '/metadata/annotations', value: {} }];
  const verdict = verdictFor('HTTPRoute ns/r', findings(0, 75), patch);
  t.equal(verdict.allowed, true);
  t.same(verdict.patch, patch);
  t.equal(verdict.warnings[0], '75 warnings in all (the first 50 here; epp-webhook check on the manifest lists every one)');
});
