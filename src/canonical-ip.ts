import { isIP } from 'node:net';

/** One spelling per address: an IPv6 one compressed and lower-case (`FD00:0:0::A` is `fd00::a`), anything else as it is. */
export function canonicalIP(address: string): string {
  return isIP(address) === 6 ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}
