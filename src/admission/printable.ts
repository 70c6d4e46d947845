// C0, DEL and C1 (Go's unicode.IsControl) and the two line separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROLS = new RegExp(CONTROL.source, 'g');

/**
 * Text from the object (names reach the webhook before the apiserver validates them) shown in a one-line place: a
 * denial's subject, a finding, a warning. A control character in it (a newline) would let the object fake a
 * `[EPPnnn]` line in the denial or a `Warning:` line in kubectl's output, so control characters are shown escaped.
 * kube-apiserver also drops, without a word, a warning holding one (k8s.io/apimachinery's NewWarningHeader).
 */
export function printable(text: string): string {
  if (!CONTROL.test(text)) return text;
  return text.replace(CONTROLS, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
