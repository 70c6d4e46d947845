/**
 * Finds an IP address inside a string as a whole address, never as part of a longer one:
 * `10.0.0.1` is in `10.0.0.1:9002` and `tcp://10.0.0.1`, not in `10.0.0.15` or `110.0.0.1`.
 */
function addressPattern(address: string): RegExp {
  const escaped = address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return address.includes(':')
    ? new RegExp(`(?<![0-9A-Za-z:.])${escaped}(?![0-9A-Za-z:.])`, 'g') // IPv6: hex digits, colons and dots extend it
    : new RegExp(`(?<![0-9A-Za-z.])${escaped}(?![0-9A-Za-z]|\\.[0-9])`, 'g'); // IPv4: `:port` may follow
}

export function containsAddress(text: string, address: string): boolean {
  return address !== '' && addressPattern(address).test(text);
}

/** Every whole occurrence of `from` replaced by `to`; the rest of the string as it was (brackets by writeAddresses). */
export function replaceAddress(text: string, from: string, to: string): string {
  return from === '' ? text : writeAddresses(text, [...text.matchAll(addressPattern(from))].map((m) => [m.index, m.index + from.length]), to);
}

/** Every occurrence of the placeholder token replaced by the address (brackets by writeAddresses). */
export function replaceToken(text: string, token: string, address: string): string {
  const spans: [number, number][] = [];
  for (let at = text.indexOf(token); at !== -1; at = text.indexOf(token, at + token.length)) spans.push([at, at + token.length]);
  return writeAddresses(text, spans, address);
}

/**
 * Writes `address` over each span of `text`, as an address is written where it stands: an IPv6 one in brackets where a
 * port follows it or it is a URL's host (`[fd00::a]:9002`, `http://[fd00::a]/`; unbracketed, `fd00::a:9002` is one
 * longer address with no port), an IPv4 one never (brackets around the span are dropped when an IPv4 address replaces
 * an IPv6 one).
 */
function writeAddresses(text: string, spans: readonly [number, number][], address: string): string {
  if (spans.length === 0) return text;
  const ipv6 = address.includes(':');
  let out = '';
  let done = 0;
  for (const [start, end] of spans) {
    const bracketed = text[start - 1] === '[' && text[end] === ']';
    const [from, to] = bracketed ? [start - 1, end + 1] : [start, end];
    const hostAndPort = text[to] === ':' || text.startsWith('//', from - 2);
    out += text.slice(done, from) + (ipv6 && (bracketed || hostAndPort) ? `[${address}]` : address);
    done = to;
  }
  return out + text.slice(done);
}
