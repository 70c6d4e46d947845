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

/** Every whole occurrence of `from` replaced by `to`; the rest of the string as it was. */
export function replaceAddress(text: string, from: string, to: string): string {
  return from === '' ? text : text.replace(addressPattern(from), () => to);
}
