import t from 'tap';
import { holdsPort, rewritePort } from '../../../src/envoyfilter/port-in-text.ts';

t.test('the port the webhook wrote, found in a string as a number of its own', async (t) => {
  t.equal(rewritePort(9002, 9002, 9012), 9012, 'the number under port_value');
  t.equal(rewritePort('9002', 9002, 9012), '9012', 'a whole string field');
  t.equal(rewritePort('10.0.0.5:9002', 9002, 9012), '10.0.0.5:9012');
  t.equal(rewritePort('10.0.0.10:10', 10, 11), '10.0.0.10:11', "after the colon, not the address's octet");
  t.equal(rewritePort('[fd00:9002::1]:9002', 9002, 9012), '[fd00:9002::1]:9012', 'not an IPv6 group');
  t.equal(rewritePort('dns:///10.0.0.5:9002/x', 9002, 9012), 'dns:///10.0.0.5:9012/x', 'a URL path may follow');
  t.equal(rewritePort('host:19002', 9002, 9012), undefined, 'another number');
  t.equal(rewritePort('a:9002,b:9002', 9002, 9012), undefined, 'twice after a colon: which one cannot be told');
  t.equal(rewritePort('9002-9002', 9002, 9012), undefined, 'twice, no colon');
  t.equal(rewritePort(9012, 9002, 9013), undefined, 'another number under port_value');
  t.ok(holdsPort('10.0.0.5:9012', 9012));
  t.notOk(holdsPort({ port: 9002 }, 9002));
});
