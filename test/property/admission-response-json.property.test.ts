/**
 * The server writes its answer with admissionResponseJson, one template: for any verdict (allowed or denied, any
 * code, any text in uid, message and warnings, any patch), it must be JSON.stringify's own bytes for the
 * AdmissionReview v1 answer the apiserver expects (written out below), so no text can break out of its string.
 */
import t from 'tap';
import fc from 'fast-check';
import { admissionResponseJson } from '../../src/admission/admission-response.ts';
import type { Verdict } from '../../src/admission/verdict.ts';
import { params, text } from './arbitraries.ts';

/** Any UTF-16 text, lone surrogates included, and the characters JSON escapes. */
const anyText = fc.oneof(text, fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) }), fc.constantFrom('', 'a"b\\c', 'line\nbreak\ttab', '\u2028\u2029', '\u0000'));
const operation = fc.record({ op: fc.constantFrom('add', 'replace', 'remove'), path: anyText, value: fc.option(fc.jsonValue(), { nil: undefined }) }, { requiredKeys: ['op', 'path'] });
const verdict: fc.Arbitrary<Verdict> = fc.record(
  {
    allowed: fc.boolean(),
    code: fc.oneof(fc.constantFrom(403, 503, 500), fc.integer()),
    message: anyText,
    warnings: fc.array(anyText, { maxLength: 4 }),
    patch: fc.array(operation, { maxLength: 4 }),
    findings: fc.constant([]),
  },
  { requiredKeys: ['allowed', 'warnings', 'findings'] },
) as fc.Arbitrary<Verdict>;

/** The answer as the AdmissionReview v1 API defines it: a denial carries its status and never a patch. */
function expectedAnswer(uid: string, verdict: Verdict): object {
  const response: Record<string, unknown> = { uid, allowed: verdict.allowed };
  if (!verdict.allowed) response.status = { code: verdict.code ?? 403, message: verdict.message ?? 'denied' };
  if (verdict.warnings.length > 0) response.warnings = verdict.warnings;
  if (verdict.allowed && verdict.patch) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(verdict.patch)).toString('base64');
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

t.test("the answer's JSON is JSON.stringify of the answer, for any verdict", async (t) => {
  let checked = 0;
  fc.assert(
    fc.property(anyText, verdict, (uid, v) => {
      const ours = admissionResponseJson(uid, v);
      if (ours !== JSON.stringify(expectedAnswer(uid, v))) return false;
      checked++;
      return true;
    }),
    params(2000),
  );
  t.ok(checked > 0, `${checked} verdicts written as JSON.stringify writes them`);
});

t.test('a real answer decodes to its patch, and a denial carries its status', async (t) => {
  const patch = [{ op: 'replace' as const, path: '/spec/configPatches/1/patch/value/address', value: '10.96.183.7' }];
  const allowed = JSON.parse(admissionResponseJson('uid-1', { allowed: true, warnings: ['[EPP402] w'], findings: [], patch }));
  t.same(JSON.parse(Buffer.from(allowed.response.patch, 'base64').toString('utf8')), patch);
  t.same([allowed.apiVersion, allowed.kind, allowed.response.uid, allowed.response.patchType, allowed.response.warnings], ['admission.k8s.io/v1', 'AdmissionReview', 'uid-1', 'JSONPatch', ['[EPP402] w']]);
  const denied = JSON.parse(admissionResponseJson('uid-2', { allowed: false, code: 503, message: 'EnvoyFilter a/b: cannot be admitted right now', warnings: [], findings: [], patch }));
  t.same(denied.response, { uid: 'uid-2', allowed: false, status: { code: 503, message: 'EnvoyFilter a/b: cannot be admitted right now' } }, 'a denial has no patch, whatever the verdict held');
});
