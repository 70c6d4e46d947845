/**
 * Text from the object (names reach the webhook before the apiserver validates them) shown in a one-line place: a
 * denial's subject, a finding, a warning. A control character in it (a newline) would let the object fake a
 * `[EPPnnn]` line in the denial or a `Warning:` line in kubectl's output, so control characters are shown escaped.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
