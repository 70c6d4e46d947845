/**
 * The server writes its answer with admissionResponseJson, one template: for any verdict (allowed or denied, any
 * code, any text in uid, message and warnings, any patch), the answer must be written as JSON.stringify writes it,
 * so no text can break out of its string, and the apiserver must read back exactly the verdict.
 */
import t from 'tap';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
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

/**
 * What the apiserver reads from an answer, as the AdmissionReview v1 API defines it: the uid echoed; a denial's
 * status and never a patch; warnings only when there are some; an allowed change as a base64 JSONPatch that decodes
 * to the verdict's operations. Undefined when it holds, else what differs.
 */
function misread(json: string, uid: string, verdict: Verdict): string | undefined {
  const answer = JSON.parse(json);
  // JSON.stringify's own bytes: every string escaped as it escapes it, no whitespace, keys in their written order.
  if (JSON.stringify(answer) !== json) return 'not written as JSON.stringify writes it';
  if (answer.apiVersion !== 'admission.k8s.io/v1' || answer.kind !== 'AdmissionReview') return 'not an AdmissionReview v1';
  const { response } = answer;
  if (response.uid !== uid || response.allowed !== verdict.allowed) return 'uid or allowed';
  const status = verdict.allowed ? undefined : { code: verdict.code ?? 403, message: verdict.message ?? 'denied' };
  if (!isDeepStrictEqual(response.status, status)) return 'status';
  if (!isDeepStrictEqual(response.warnings, verdict.warnings.length > 0 ? verdict.warnings : undefined)) return 'warnings';
  const patch = verdict.allowed && verdict.patch ? JSON.parse(JSON.stringify(verdict.patch)) : undefined;
  const decoded = response.patch === undefined ? undefined : JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
  if (!isDeepStrictEqual(decoded, patch) || response.patchType !== (patch === undefined ? undefined : 'JSONPatch')) return 'patch';
  return undefined;
}

t.test('the apiserver reads from the answer exactly the verdict, for any verdict', async (t) => {
  let checked = 0;
  fc.assert(
    fc.property(anyText, verdict, (uid, v) => {
      // Thrown, not counted by tap: fast-check shrinks to the smallest verdict that is misread and reports it.
      const problem = misread(admissionResponseJson(uid, v), uid, v);
      if (problem !== undefined) throw new Error(problem);
      checked++;
    }),
    params(2000),
  );
  t.ok(checked > 0, `${checked} verdicts read back as they were`);
});

t.test('a real answer decodes to its patch, and a denial carries its status', async (t) => {
  const patch = [{ op: 'replace' as const, path: '/spec/configPatches/1/patch/value/address', value: '10.96.183.7' }];
  const allowed = JSON.parse(admissionResponseJson('uid-1', { allowed: true, warnings: ['[EPP402] w'], findings: [], patch }));
  t.same(JSON.parse(Buffer.from(allowed.response.patch, 'base64').toString('utf8')), patch);
  t.same([allowed.apiVersion, allowed.kind, allowed.response.uid, allowed.response.patchType, allowed.response.warnings], ['admission.k8s.io/v1', 'AdmissionReview', 'uid-1', 'JSONPatch', ['[EPP402] w']]);
  const denied = JSON.parse(admissionResponseJson('uid-2', { allowed: false, code: 503, message: 'EnvoyFilter a/b: cannot be admitted right now', warnings: [], findings: [], patch }));
  t.same(denied.response, { uid: 'uid-2', allowed: false, status: { code: 503, message: 'EnvoyFilter a/b: cannot be admitted right now' } }, 'a denial has no patch, whatever the verdict held');
});
