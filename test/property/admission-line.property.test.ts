/**
 * The admission line is written without pino, so log pipelines must not be able to tell: for any fields a request can
 * bring (any text in uid, kind, namespace and name), the line is pino's own line for `log.info(fields, 'admission')`
 * with the server's logger options, byte for byte (and the same when parsed where pino writes a lone surrogate raw, or
 * U+0085, U+2028 or U+2029, which log viewers take for a line break: the line writes those as escapes).
 */
import t from 'tap';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import pino from 'pino';
import { admissionLine, admissionLogFields, MAX_LOGGED_FIELD, type AdmissionLogFields } from '../../src/server/admission-log.ts';

/** Any UTF-16 text, lone surrogates included. */
const utf16 = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) });
const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), utf16, fc.constantFrom('', 'a"b\\c', 'line\nbreak', '\u2028', 'x'.repeat(150) + '\u0001'));
const fields: fc.Arbitrary<AdmissionLogFields> = fc.record({
  endpoint: fc.constantFrom('mutate' as const, 'validate' as const),
  uid: anyText,
  kind: anyText,
  namespace: fc.option(anyText, { nil: undefined }),
  name: fc.option(anyText, { nil: undefined }),
  operation: fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT'),
  dryRun: fc.boolean(),
  verdict: fc.constantFrom('allowed' as const, 'denied' as const, 'passed' as const),
  patched: fc.boolean(),
  codes: fc.array(fc.constantFrom('EPP101', 'EPP230', 'EPP402'), { maxLength: 4 }),
  durationMs: fc.double({ min: 0, max: 30_000, noNaN: true }).map((ms) => Math.round(ms * 1e3) / 1e3),
});

t.test('the admission line is the one pino writes for the same fields', async (t) => {
  const time = 1_764_558_000_123;
  let written = '';
  // The server's logger (log-options.ts): pino's defaults, level info; only the clock is fixed here.
  const logger = pino({ level: 'info', timestamp: () => `,"time":${time}` }, { write: (line: string) => void (written = line) });
  let compared = 0;
  fc.assert(
    fc.property(fields, (f) => {
      logger.info(f, 'admission');
      const ours = admissionLine(f, time);
      const strings = [f.uid, f.kind, f.namespace ?? '', f.name ?? ''];
      if (strings.every((s) => s.isWellFormed() && !/[\u0085\u2028\u2029]/.test(s))) {
        if (ours !== written) return false;
        compared++;
      }
      const [a, b] = [JSON.parse(ours), JSON.parse(written)];
      return ours.endsWith('}\n') && ours.indexOf('\n') === ours.length - 1 && JSON.stringify(Object.keys(a)) === JSON.stringify(Object.keys(b)) && isDeepStrictEqual(a, b);
    }),
    { numRuns: 2000 },
  );
  t.ok(compared > 1000 && compared < 2000, `byte for byte in ${compared} of 2,000 runs (the rest hold a lone surrogate or a line breaker)`);
});

t.test('a uid with a newline stays on one line, escaped', async (t) => {
  const line = admissionLine({ endpoint: 'mutate', uid: 'x\n{"level":50}', kind: 'EnvoyFilter', operation: 'CREATE', dryRun: false, verdict: 'allowed', patched: false, codes: [], durationMs: 0.5 });
  t.equal(line.split('\n').length, 2);
  t.equal(JSON.parse(line).uid, 'x\n{"level":50}');
  t.equal(JSON.parse(line).level, 30);
});

t.test('U+0085, U+2028 and U+2029 are written as escapes: no log viewer breaks the line there', async (t) => {
  const line = admissionLine({ endpoint: 'validate', uid: 'u', kind: 'EnvoyFilter', name: 'a\u2028b\u0085c\u2029d', operation: 'CREATE', dryRun: false, verdict: 'allowed', patched: false, codes: [], durationMs: 0.5 });
  t.match(line, '"name":"a\\u2028b\\u0085c\\u2029d"');
  t.notMatch(line, /[\u0085\u2028\u2029]/);
  t.equal(JSON.parse(line).name, 'a\u2028b\u0085c\u2029d', 'the same name when parsed');
});

t.test('a field cut at MAX_LOGGED_FIELD is not cut between the halves of a surrogate pair', async (t) => {
  const name = `a${'😀'.repeat(MAX_LOGGED_FIELD)}`;
  const request = { uid: 'u', kind: { group: 'networking.istio.io', version: 'v1alpha3', kind: 'EnvoyFilter' }, operation: 'CREATE' as const, name, object: {} };
  const logged = admissionLogFields('validate', request, { allowed: true, warnings: [], findings: [] }, 'allowed', 0.001).name!;
  t.ok(logged.endsWith('…'), 'marked as cut');
  t.ok(logged.isWellFormed(), 'no lone surrogate left where the pair was cut');
  t.ok(logged.length <= MAX_LOGGED_FIELD + 1);
});
