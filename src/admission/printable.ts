import { formatCount } from '../findings.ts';

// C0, DEL and C1 (Go's unicode.IsControl), the two line separators, and the bidi marks, embeddings, overrides and
// isolates (U+061C, U+200E-F, U+202A-E, U+2066-9), which can make a line read in another order than it is written.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNPRINTABLES = new RegExp(UNPRINTABLE.source, 'g');

/**
 * Characters one line shows at most. The longest line the rules write is under 2,000 (an EPP230 naming its routes);
 * text from the object has no bound but the body's: a key of 2 MB would come back twice in a 4 MB denial.
 */
export const MAX_PRINTABLE = 4_096;

/**
 * Text from the object (names reach the webhook before the apiserver validates them) shown in a one-line place: a
 * denial's subject, a finding, a warning. A control character in it (a newline) would let the object fake a
 * `[EPPnnn]` line in the denial or a `Warning:` line in kubectl's output, so control characters are shown escaped.
 * kube-apiserver also drops, without a word, a warning holding one (k8s.io/apimachinery's NewWarningHeader).
 * Past MAX_PRINTABLE characters the line is cut, and says so.
 */
export function printable(text: string): string {
  const escaped = UNPRINTABLE.test(text)
    ? text.replace(UNPRINTABLES, (c) =>
        c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
      )
    : text;
  if (escaped.length <= MAX_PRINTABLE) return escaped;
  const end = cutPoint(escaped, MAX_PRINTABLE);
  return `${escaped.slice(0, end)}… (${formatCount(escaped.length - end)} more characters; epp-webhook check prints the line whole)`;
}

/** Where to cut `text` to keep at most `length` UTF-16 units: not between the two halves of a surrogate pair. */
export function cutPoint(text: string, length: number): number {
  const code = text.charCodeAt(length - 1);
  return code >= 0xd800 && code <= 0xdbff ? length - 1 : length;
}
