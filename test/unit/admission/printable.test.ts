import t from 'tap';
import { MAX_PRINTABLE, printable } from '../../../src/admission/printable.ts';

t.test('control characters and line separators are shown escaped, everything else as it is', async (t) => {
  t.equal(printable('llm-d/epp-ext-proc'), 'llm-d/epp-ext-proc');
  const ordinary = 'plain name, ümlaut, 名前';
  t.equal(printable(ordinary), ordinary, 'unicode that cannot break a line is kept');
  t.equal(printable('a\nWarning: fake'), 'a\\nWarning: fake');
  t.equal(printable('\r\t\u0000\u007f\u2028\u2029'), '\\r\\t\\u0000\\u007f\\u2028\\u2029');
  t.equal(printable('\u0080\u0085\u009f'), '\\u0080\\u0085\\u009f', 'C1 controls too: kube-apiserver drops a warning holding one');
  t.equal(printable('\u00a0\u00ff'), '\u00a0\u00ff', 'the Latin-1 letters and spaces after them are kept');
  t.equal(printable('x\ny\nz'), 'x\\ny\\nz', 'every occurrence, not only the first');
  t.notMatch(printable('[EPP101] a\n[EPP202] b'), /\n/);
  printable('a\n');
  t.equal(printable('\nb'), '\\nb', 'no state carried from one call to the next');
});

t.test('bidi controls are shown escaped: a name cannot make its line read in another order', async (t) => {
  t.equal(printable('pool\u202Egnp.exe'), 'pool\\u202egnp.exe');
  t.equal(printable('\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069'), '\\u200e\\u200f\\u061c\\u202a\\u202b\\u202c\\u202d\\u2066\\u2067\\u2068\\u2069');
  t.equal(printable('\u200d'), '\u200d', 'a zero-width joiner (emoji, scripts) is kept');
});

t.test('every UTF-16 code unit is escaped exactly when it is a control, a line separator or a bidi mark', async (t) => {
  // Go's unicode.IsControl (C0, DEL, C1), U+2028/9, and U+061C, U+200E-F, U+202A-E, U+2066-9.
  const escapes = (c: number) => c <= 0x1f || (c >= 0x7f && c <= 0x9f) || c === 0x61c || c === 0x200e || c === 0x200f || c === 0x2028 || c === 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
  const wrong: string[] = [];
  for (let c = 0; c <= 0xffff; c++) {
    const char = String.fromCharCode(c);
    // Inside a longer line too: the test looks past the first character.
    if ((printable(`name ${char}`) !== `name ${char}`) !== escapes(c)) wrong.push(c.toString(16));
  }
  t.same(wrong, [], 'code units escaped or kept against the rule');
});

t.test('a line past MAX_PRINTABLE characters is cut and says how much', async (t) => {
  const long = 'k'.repeat(2 * 1024 * 1024);
  const shown = printable(`[EPP213] ext_proc ${long} is not a field`);
  t.ok(shown.length < MAX_PRINTABLE + 100, `${shown.length} characters`);
  t.ok(shown.startsWith(`[EPP213] ext_proc kkk`));
  const cut = `[EPP213] ext_proc ${long} is not a field`.length - MAX_PRINTABLE;
  t.ok(shown.endsWith(`… (${cut.toLocaleString('en-US')} more characters; epp-webhook check prints the line whole)`), `${cut} characters cut`);
  t.equal(printable('x'.repeat(MAX_PRINTABLE)), 'x'.repeat(MAX_PRINTABLE), 'a line of exactly MAX_PRINTABLE is kept whole');
  const pairs = printable('a' + '😀'.repeat(MAX_PRINTABLE));
  t.ok(pairs.slice(0, pairs.indexOf('…')).isWellFormed(), 'a surrogate pair is not cut in two');
  t.match(printable('\n'.repeat(MAX_PRINTABLE)), /^(\\n)+… \(4,096 more characters/, 'counted after escaping');
});
