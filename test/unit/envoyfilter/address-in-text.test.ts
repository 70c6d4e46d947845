import t from 'tap';
import { containsAddress, replaceAddress, replaceToken } from '../../../src/envoyfilter/address-in-text.ts';

t.test('an IPv4 address is found whole: alone, with a port, in a URL; not inside a longer address', async (t) => {
  for (const text of ['10.0.0.1', '10.0.0.1:9002', 'tcp://10.0.0.1:9002/x', 'a,10.0.0.1,b', '[10.0.0.1]']) t.ok(containsAddress(text, '10.0.0.1'), text);
  for (const text of ['10.0.0.15', '110.0.0.1', '10.0.0.1.5', 'x10.0.0.1', '10.0.0.10:9002', '']) t.notOk(containsAddress(text, '10.0.0.1'), text);
  t.notOk(containsAddress('anything', ''), 'an empty address is in nothing');
  t.notOk(containsAddress('10x0y0z1', '10.0.0.1'), 'dots are dots, not any character');
});

t.test('replacing keeps everything around the address', async (t) => {
  t.equal(replaceAddress('10.0.0.1:9002', '10.0.0.1', '10.0.9.9'), '10.0.9.9:9002');
  t.equal(replaceAddress('10.0.0.1 and 10.0.0.15 and 10.0.0.1', '10.0.0.1', '10.0.9.9'), '10.0.9.9 and 10.0.0.15 and 10.0.9.9');
  t.equal(replaceAddress('nothing here', '10.0.0.1', '10.0.9.9'), 'nothing here');
  t.equal(replaceAddress('$& $1', '', 'x'), '$& $1');
  t.equal(replaceAddress('10.0.0.1', '10.0.0.1', '$&$&'), '$&$&', 'the new address is inserted literally');
});

t.test('IPv6: hex digits, colons and dots extend an address', async (t) => {
  t.ok(containsAddress('[fd00::1]:9002', 'fd00::1'));
  t.ok(containsAddress('fd00::1', 'fd00::1'));
  t.notOk(containsAddress('fd00::1a', 'fd00::1'));
  t.notOk(containsAddress('fd00::1:9002', 'fd00::1'), 'that is the address fd00::1:9002');
  t.equal(replaceAddress('[fd00::1]:9002', 'fd00::1', 'fd00::2'), '[fd00::2]:9002');
});

t.test('an address is written as it must stand: IPv6 in brackets before a port or as a URL host, IPv4 never', async (t) => {
  const cases: [string, string, string, string][] = [
    ['10.0.0.1:9002', '10.0.0.1', 'fd00::b', '[fd00::b]:9002'],
    ['http://10.0.0.1/v1', '10.0.0.1', 'fd00::b', 'http://[fd00::b]/v1'],
    ['10.0.0.1', '10.0.0.1', 'fd00::b', 'fd00::b'],
    ['[fd00::a]:9002', 'fd00::a', '10.0.0.2', '10.0.0.2:9002'],
    ['http://[fd00::a]/v1', 'fd00::a', '10.0.0.2', 'http://10.0.0.2/v1'],
    ['[fd00::a]', 'fd00::a', 'fd00::b', '[fd00::b]'],
    ['fd00::a', 'fd00::a', '10.0.0.2', '10.0.0.2'],
  ];
  for (const [text, from, to, written] of cases) t.equal(replaceAddress(text, from, to), written, `${text}: ${from} -> ${to}`);
  t.equal(replaceToken('EPP_IP:9002,[EPP_IP]:9003,http://EPP_IP/,EPP_IP', 'EPP_IP', 'fd00::a'), '[fd00::a]:9002,[fd00::a]:9003,http://[fd00::a]/,fd00::a');
  t.equal(replaceToken('[EPP_IP]:9002', 'EPP_IP', '10.0.0.1'), '10.0.0.1:9002', 'brackets around the token are for IPv6 only');
});
