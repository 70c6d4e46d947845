import t from 'tap';
import { containsAddress, replaceAddress } from '../../../src/reconcile/address-in-text.ts';

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
