import t from 'tap';
import { printable } from '../../../src/admission/printable.ts';

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
