import t from 'tap';
import { ALL_ADDRESSES, listenHost } from '../../../src/server/webhook-server.ts';

const refusing = (codes: Record<string, string>) => {
  const tried: string[] = [];
  const listen = async (host: string) => {
    tried.push(host);
    if (codes[host]) throw Object.assign(new Error(`listen ${codes[host]}`), { code: codes[host] });
  };
  return { tried, listen };
};

t.test('every address: IPv6 and IPv4 where the kernel has IPv6, every IPv4 address where it has none', async (t) => {
  const dualStack = refusing({});
  t.equal(await listenHost(ALL_ADDRESSES, dualStack.listen), '::');
  t.same(dualStack.tried, ['::']);
  const noIpv6 = refusing({ '::': 'EAFNOSUPPORT' });
  t.equal(await listenHost(ALL_ADDRESSES, noIpv6.listen), '0.0.0.0', 'a kernel booted with ipv6.disable=1');
  t.same(noIpv6.tried, ['::', '0.0.0.0']);
});

t.test('any other failure, or any other host, is the error to report', async (t) => {
  await t.rejects(listenHost(ALL_ADDRESSES, refusing({ '::': 'EADDRINUSE' }).listen), { code: 'EADDRINUSE' });
  await t.rejects(listenHost('::1', refusing({ '::1': 'EAFNOSUPPORT' }).listen), { code: 'EAFNOSUPPORT' });
});
