import t from 'tap';
import { closestName } from '../../../src/envoyfilter/closest-name.ts';
import { parseGoDuration } from '../../../src/envoyfilter/go-duration.ts';
import { readEnum } from '../../../src/envoyfilter/proto-enum.ts';
import { envoyField, envoyFieldKey } from '../../../src/json-value.ts';

t.test('durations are read with the syntax of Go time.ParseDuration, which istiod uses', async (t) => {
  t.equal(parseGoDuration('0.2s'), 200_000_000n);
  t.equal(parseGoDuration('200ms'), 200_000_000n);
  t.equal(parseGoDuration('1h30m'), 5_400_000_000_000n);
  t.equal(parseGoDuration('-1s'), -1_000_000_000n);
  t.equal(parseGoDuration('0'), 0n);
  for (const refused of ['', '5', 'abc', '.s', '1d', '315576000000s', '1valueOf', '2constructor', '1__proto__', '1hasOwnProperty']) t.equal(parseGoDuration(refused), undefined, refused);
});

t.test('enums: exact names or int32 numbers; an unknown number is for Envoy to reject', async (t) => {
  const names = ['DEFAULT', 'SEND', 'SKIP'];
  t.same(readEnum('SEND', names), { kind: 'name', name: 'SEND' });
  t.same(readEnum(2, names), { kind: 'name', name: 'SKIP' });
  t.same(readEnum(null, names), { kind: 'unset' });
  t.same(readEnum(7, names), { kind: 'rejected-by-envoy' });
  t.same(readEnum(-1, names), { kind: 'rejected-by-envoy' });
  for (const refused of ['send', '1', 1.5, true, 2 ** 31]) t.same(readEnum(refused, names), { kind: 'refused-by-istio' }, String(refused));
});

t.test('the lowerCamelCase spelling wins over the snake_case one, as in jsonpb', async (t) => {
  const both = { request_body_mode: 'NONE', requestBodyMode: 'FULL_DUPLEX_STREAMED' };
  t.equal(envoyField(both, 'request_body_mode'), 'FULL_DUPLEX_STREAMED');
  t.equal(envoyFieldKey(both, 'request_body_mode'), 'requestBodyMode');
  t.equal(envoyField({ request_body_mode: 'NONE' }, 'request_body_mode'), 'NONE');
});

t.test('did you mean: case and separators first, then a small edit distance', async (t) => {
  const fields = ['request_body_mode', 'request_header_mode', 'request_trailer_mode'];
  t.equal(closestName('RequestBodyMode', fields), 'request_body_mode');
  t.equal(closestName('request-body-mode', fields), 'request_body_mode');
  t.equal(closestName('request_body_mod', fields), 'request_body_mode');
  t.equal(closestName('req_trailer_mode', fields), 'request_trailer_mode');
  t.equal(closestName('foo', fields), undefined);
});

t.test('did you mean: req and resp read as request and response', async (t) => {
  const fields = ['request_body_mode', 'response_body_mode', 'request_header_mode', 'response_header_mode'];
  t.equal(closestName('resp_body_mode', fields), 'response_body_mode');
  t.equal(closestName('respHeaderMode', fields), 'response_header_mode');
  t.equal(closestName('req_body_mode', fields), 'request_body_mode');
});
