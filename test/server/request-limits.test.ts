/**
 * What one client can hold of the server, over real TLS on loopback: bytes of request bodies
 * (`maxRequestBytesInFlight`), connections (`maxConnections`) and time (a request must arrive within the request
 * timeout). Before these limits a client needed no credential to hold as much as it liked: 32 connections each
 * sending 7 MiB and not the last byte took the server past deploy/'s memory limit, and a connection that sent half
 * its headers stayed open for good. The client past a limit gets an answer that says which, and the server goes on
 * answering everyone else.
 */
import t from 'tap';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import type { ServiceResolver } from '../../src/cluster/service-resolver.ts';
import { parseConfig } from '../../src/config.ts';
import { eventually } from '../helpers/eventually.ts';
import { admissionReview, fixtureResolver, manifest } from '../helpers/fixtures.ts';
import { httpsRequest } from '../helpers/https-client.ts';
import { startWebhookUnderTest, type WebhookUnderTest } from '../helpers/webhook-under-test.ts';
import { heldRequest, secureConnection, type HeldAnswer, type HeldRequest } from './load-clients.ts';

/** The guide's EnvoyFilter as an AdmissionReview of exactly `bytes` bytes (an annotation pads it). */
function reviewOfSize(bytes: number, uid: string): string {
  const object = manifest('guide-envoyfilter.yaml');
  object.metadata.annotations = { padding: '' };
  const bare = JSON.stringify(admissionReview(object, 'CREATE', uid));
  object.metadata.annotations.padding = 'x'.repeat(bytes - Buffer.byteLength(bare));
  return JSON.stringify(admissionReview(object, 'CREATE', uid));
}

/** The answer to a held request; its connection is then closed, as the rest of its body will never come. */
const answered = async (held: HeldRequest): Promise<HeldAnswer> => {
  const answer = await held.response;
  held.socket.destroy();
  if ('closed' in answer) throw new Error(`no answer: ${answer.closed}`);
  return answer;
};

async function scrape(webhook: WebhookUnderTest): Promise<string> {
  return webhook.server.metrics.registry.metrics();
}

t.test('request bodies held at once: the one past maxRequestBytesInFlight gets 429 before its body is read', async (t) => {
  const webhook = await startWebhookUnderTest({ config: parseConfig({ maxRequestBytes: 512 * 1024, maxRequestBytesInFlight: 250 * 1024 }) });
  t.teardown(() => webhook.server.close());
  const port = webhook.server.port;
  const body = (uid: string) => reviewOfSize(100 * 1024, uid);

  // Two bodies of 100 KiB, half sent: 200 KiB held.
  const first = await heldRequest({ port, ca: webhook.ca, path: '/mutate', body: body('first'), sentBytes: 50 * 1024 });
  const second = await heldRequest({ port, ca: webhook.ca, path: '/mutate', body: body('second'), sentBytes: 50 * 1024 });
  await new Promise((r) => setTimeout(r, 100));

  // A third declares 100 KiB and sends none of it: 300 KiB would pass the limit.
  const third = await answered(await heldRequest({ port, ca: webhook.ca, path: '/mutate', body: body('third'), sentBytes: 0 }));
  t.equal(third.status, 429, 'the request past the limit: 429');
  t.match(third.headers, /\r\nretry-after: 1\r\n/i, 'with Retry-After: 1');
  t.equal(
    JSON.parse(third.body).reason,
    "the webhook holds 204800 bytes of other requests' large bodies and answers; 102400 more bytes of body would pass maxRequestBytesInFlight (256000): retry",
    'the reason says what is held and which limit',
  );

  // Unknown paths read their bodies too, so they are counted as well.
  const unknown = await answered(await heldRequest({ port, ca: webhook.ca, path: '/anything-else', body: body('unknown'), sentBytes: 0 }));
  t.equal(unknown.status, 429, 'a body sent to an unknown path is counted too');

  // A chunked body's length is known only at its end: it is counted at maxRequestBytes (512 KiB).
  const chunkedConnection = await secureConnection(port, webhook.ca);
  const chunked = await exchange(chunkedConnection, 'POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
  chunkedConnection.destroy();
  t.equal(chunked.slice(9, 12), '429', 'a chunked body is counted at maxRequestBytes');

  t.equal((await httpsRequest(`${webhook.url}/healthz`, { ca: webhook.ca })).status, 200, 'a request without a body is answered meanwhile');

  // Once the first is answered, its 100 KiB are free again.
  const firstAnswer = await first.finish();
  t.equal(firstAnswer.status, 200, 'the first held request is answered');
  t.equal(JSON.parse(firstAnswer.body).response.allowed, true);
  t.ok(await eventually(async () => (await httpsRequest(`${webhook.url}/mutate`, { ca: webhook.ca, method: 'POST', body: body('fourth') })).status === 200), 'a new 100 KiB request fits again');
  t.equal((await second.finish()).status, 200, 'the second held request is answered');

  const metrics = await scrape(webhook);
  t.match(metrics, /epp_webhook_bad_requests_total\{endpoint="mutate",status="429"\} 1/, 'counted under its endpoint');
  t.match(metrics, /epp_webhook_bad_requests_total\{endpoint="other",status="429"\} 1/, 'and the unknown path as other');
  t.match(metrics, /epp_webhook_bad_requests_total\{endpoint="validate",status="429"\} 1/);
});

t.test('a body larger than maxRequestBytesInFlight is still answered when nothing else is held', async (t) => {
  const webhook = await startWebhookUnderTest({ config: parseConfig({ maxRequestBytes: 512 * 1024, maxRequestBytesInFlight: 1024 }) });
  t.teardown(() => webhook.server.close());
  const answer = await httpsRequest(`${webhook.url}/mutate`, { ca: webhook.ca, method: 'POST', body: reviewOfSize(400 * 1024, 'alone') });
  t.equal(answer.status, 200);
  t.equal(answer.body.response.allowed, true);
});

t.test('a body up to 64 KiB is never refused: a client that declares large bodies and sends nothing shuts out only large ones', async (t) => {
  const webhook = await startWebhookUnderTest({ config: parseConfig({ maxRequestBytesInFlight: 1024 * 1024 }) });
  t.teardown(() => webhook.server.close());
  const port = webhook.server.port;
  // The limit taken by one declared 1 MiB body of which nothing is sent.
  const squatter = await heldRequest({ port, ca: webhook.ca, path: '/mutate', body: reviewOfSize(1024 * 1024, 'squat'), sentBytes: 0 });
  t.teardown(() => squatter.socket.destroy());
  await new Promise((r) => setTimeout(r, 100));
  const small = await httpsRequest(`${webhook.url}/mutate`, { ca: webhook.ca, method: 'POST', body: reviewOfSize(64 * 1024, 'small') });
  t.equal(small.status, 200, 'a 64 KiB admission is answered');
  const large = await httpsRequest(`${webhook.url}/mutate`, { ca: webhook.ca, method: 'POST', body: reviewOfSize(64 * 1024 + 1, 'large') });
  t.equal(large.status, 429, 'one byte more is counted, and refused');
});

/** The guide's EnvoyFilter with 900 placeholders: a small body, an answer of several hundred KiB (an operation each). */
function manyTokens(uid: string): string {
  const object = manifest('guide-envoyfilter.yaml');
  object.spec.configPatches[1].patch.value.metadata = { filter_metadata: { epp: Object.fromEntries(Array.from({ length: 900 }, (_, i) => [`address-${i}`, 'EPP_SERVICE_CLUSTER_IP'])) } };
  return JSON.stringify(admissionReview(object, 'CREATE', uid));
}

t.test('an answer over 64 KiB counts too: one that does not fit beside what is held is refused with 429', async (t) => {
  const webhook = await startWebhookUnderTest({ config: parseConfig({ maxRequestBytesInFlight: 100 * 1024 }) });
  t.teardown(() => webhook.server.close());
  const body = manyTokens('many');
  t.ok(Buffer.byteLength(body) <= 64 * 1024, 'the body itself is not counted');
  const alone = await httpsRequest(`${webhook.url}/mutate`, { ca: webhook.ca, method: 'POST', body });
  t.equal(alone.status, 200, `alone, its answer of ${alone.text.length} bytes is sent`);

  const squatter = await heldRequest({ port: webhook.server.port, ca: webhook.ca, path: '/mutate', body: reviewOfSize(80 * 1024, 'squat'), sentBytes: 0 });
  t.teardown(() => squatter.socket.destroy());
  await new Promise((r) => setTimeout(r, 100));
  const refused = await httpsRequest(`${webhook.url}/mutate`, { ca: webhook.ca, method: 'POST', body });
  t.equal(refused.status, 429, 'beside a held body of 80 KiB, it is refused');
  t.match(refused.body.reason, /^the webhook holds 81920 bytes of other requests' large bodies and answers; an answer of \d+ bytes would pass maxRequestBytesInFlight \(102400\): retry$/);
});

t.test('after an answer over 64 KiB the server closes the connection', async (t) => {
  // A TLS socket keeps a buffer as large as its largest write while it stays open: 40 kept-alive connections that had
  // each read a 3.6 MB answer held 333 MiB (the review of fix 14).
  const webhook = await startWebhookUnderTest({ config: parseConfig({ maxRequestBytesInFlight: 100 * 1024 }) });
  t.teardown(() => webhook.server.close());
  const body = manyTokens('large-answer');
  const read = await heldRequest({ port: webhook.server.port, ca: webhook.ca, path: '/mutate', body, sentBytes: Buffer.byteLength(body) });
  t.teardown(() => read.socket.destroy());
  const answer = await read.response;
  t.ok('status' in answer && answer.status === 200 && /\r\nconnection: close\r\n/i.test(answer.headers), 'answered with Connection: close');
  t.ok(await eventually(() => read.socket.readyState === 'closed' || read.socket.destroyed, 2000), 'and the connection is closed');
  const small = await heldRequest({ port: webhook.server.port, ca: webhook.ca, path: '/mutate', body: reviewOfSize(8 * 1024, 'small'), sentBytes: 8 * 1024 });
  t.teardown(() => small.socket.destroy());
  const smallAnswer = await small.response;
  t.ok('status' in smallAnswer && !/\r\nconnection: close\r\n/i.test(smallAnswer.headers), 'a small answer keeps its connection open');
});

t.test('a large answer its client does not read is cut after the request timeout, and what it held is free again', async (t) => {
  const webhook = await startWebhookUnderTest({ config: parseConfig({ maxRequestBytesInFlight: 12 * 1024 * 1024 }), requestTimeoutMs: 2000 });
  t.teardown(() => webhook.server.close());
  // 33,000 rules: an answer of about 7 MB, more than the socket buffers take while nothing reads the TCP connection.
  const route = manifest('guide-httproute.yaml');
  route.spec.rules = Array.from({ length: 33_000 }, () => ({ backendRefs: route.spec.rules[0].backendRefs }));
  const body = JSON.stringify(admissionReview(route, 'CREATE', 'unread'));
  // TLS over a socket of our own, whose reading stops at the TCP level once the request is sent.
  const tcp = netConnect({ host: '127.0.0.1', port: webhook.server.port });
  const stalled = connect({ socket: tcp, ca: webhook.ca, servername: 'localhost' });
  stalled.on('error', () => {});
  tcp.on('error', () => {});
  t.teardown(() => tcp.destroy());
  await new Promise((resolve) => stalled.once('secureConnect', resolve));
  stalled.write(`POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
  await new Promise((resolve) => stalled.write(body, resolve));
  tcp.pause();
  const tcpClosed = new Promise<number>((resolve) => tcp.once('close', () => resolve(Date.now())));
  const another = () => httpsRequest(`${webhook.url}/mutate`, { ca: webhook.ca, method: 'POST', body: body.replace('"unread"', '"another"') });
  const started = Date.now();
  t.ok(await eventually(async () => (await another()).status === 429, 5000), 'beside the unread answer, another is refused');
  t.ok(await eventually(async () => (await another()).status === 200, 10_000), 'once the stalled connection is cut, it is answered');
  const waited = Date.now() - started;
  t.ok(waited >= 1500, `not before the timeout (${waited} ms)`);
  stalled.resume();
  tcp.resume();
  t.ok((await tcpClosed) - started < 10_000, 'the stalled connection was closed by the server');
});

t.test('a large answer to a client that left while its admission waited for a lookup is not counted', async (t) => {
  // A Service lookup that answers later (the interface allows it; the resolvers serve ships answer at once).
  const fixtures = fixtureResolver();
  const resolver: ServiceResolver = {
    source: fixtures.source,
    ready: () => true,
    size: () => fixtures.size(),
    lookup: async (namespace, name) => (await new Promise((r) => setTimeout(r, 300)), fixtures.lookup(namespace, name)),
  };
  const webhook = await startWebhookUnderTest({ resolver, config: parseConfig({ maxRequestBytesInFlight: 1024 }) });
  t.teardown(() => webhook.server.close());
  const body = manyTokens('gone');
  const complete = await httpsRequest(`${webhook.url}/mutate`, { ca: webhook.ca, method: 'POST', body });
  t.ok(complete.text.length > 64 * 1024, `its answer is ${complete.text.length} bytes, so it is counted until sent`);

  for (let i = 0; i < 3; i++) {
    const gone = await heldRequest({ port: webhook.server.port, ca: webhook.ca, path: '/mutate', body, sentBytes: Buffer.byteLength(body) });
    await new Promise((r) => setTimeout(r, 100));
    gone.socket.destroy();
  }
  await new Promise((r) => setTimeout(r, 500));
  const after = await httpsRequest(`${webhook.url}/mutate`, { ca: webhook.ca, method: 'POST', body: reviewOfSize(100 * 1024, 'after') });
  t.equal(after.status, 200, 'a large body is answered: nothing is left counted for the clients that left');
});

t.test('connections past maxConnections are closed as they are accepted; the server answers again once one closes', async (t) => {
  const webhook = await startWebhookUnderTest({ config: parseConfig({ maxConnections: 3 }) });
  t.teardown(() => webhook.server.close());
  const port = webhook.server.port;
  const open: TLSSocket[] = [];
  t.teardown(() => open.forEach((s) => s.destroy()));
  for (let i = 0; i < 3; i++) open.push(await secureConnection(port, webhook.ca));

  const extra = connect({ host: '127.0.0.1', port, ca: webhook.ca, servername: 'localhost' });
  const outcome = await new Promise<string>((resolve) => {
    extra.once('secureConnect', () => resolve('connected'));
    extra.once('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code}`));
    extra.once('close', () => resolve('closed'));
  });
  extra.destroy();
  t.not(outcome, 'connected', `the fourth connection is not served (${outcome})`);
  // deploy/'s liveness probe asks the metrics port: a client holding the webhook port gets no restart of the pod.
  const liveness = await fetch(`http://127.0.0.1:${webhook.server.metricsPort}/healthz`);
  t.equal(liveness.status, 200, 'the metrics port still answers /healthz');
  await liveness.text();

  open.shift()!.destroy();
  t.ok(await eventually(async () => (await httpsRequest(`${webhook.url}/healthz`, { ca: webhook.ca }).catch(() => ({ status: 0 }))).status === 200), 'with one closed, a new connection is answered');
});

/** Go's http.DefaultTransport IdleConnTimeout, which client-go's transports (the apiserver's webhook client) take. */
const APISERVER_IDLE_CONNECTION_S = 90;

t.test('an idle keep-alive connection is kept longer than the apiserver keeps it, so the apiserver closes it first', async (t) => {
  const webhook = await startWebhookUnderTest({});
  t.teardown(() => webhook.server.close());
  const agent = new Agent({ keepAlive: true, ca: webhook.ca });
  t.teardown(() => agent.destroy());
  const headers = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
    const body = JSON.stringify(admissionReview(manifest('guide-envoyfilter.yaml'), 'CREATE', 'keep-alive'));
    const req = request(`${webhook.url}/mutate`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume().on('end', () => resolve(res.headers));
    });
    req.on('error', reject).end(body);
  });
  t.equal(headers.connection, 'keep-alive');
  const timeout = Number(/timeout=(\d+)/.exec(String(headers['keep-alive']))?.[1]);
  t.ok(timeout > APISERVER_IDLE_CONNECTION_S, `Keep-Alive: timeout=${timeout}, more than the apiserver's ${APISERVER_IDLE_CONNECTION_S} s`);
});

t.test('a request that has not arrived within the request timeout: 408, and its connection is closed', async (t) => {
  const webhook = await startWebhookUnderTest({ requestTimeoutMs: 1000 });
  t.teardown(() => webhook.server.close());
  const port = webhook.server.port;
  const started = Date.now();
  const stalled = {
    'nothing sent': '',
    'half the headers': 'POST /mutate HTTP/1.1\r\nHost: localhost\r\n',
    'half the body': 'POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"apiVersion":',
  };
  // A connection that never starts its TLS handshake, which would otherwise hold its place for Node's 120 s.
  const bare = new Promise<number>((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    socket.once('close', () => resolve(Date.now() - started));
  });
  const results = await Promise.all(Object.values(stalled).map((sent) => rawAnswer(port, webhook.ca, sent)));
  const elapsed = Date.now() - started;
  const bareClosed = await bare;
  t.ok(bareClosed >= 1000 && bareClosed < 3000, `a connection without a TLS handshake closed after ${bareClosed} ms`);
  Object.keys(stalled).forEach((what, i) => t.equal(results[i].slice(9, 12), '408', `${what}: 408 Request Timeout`));
  t.same(
    JSON.parse(results[1].slice(results[1].indexOf('\r\n\r\n') + 4)),
    { error: 'Request Timeout', reason: 'the request did not arrive in time: its headers are due within 1 s, the whole request within 1 s' },
    'with a reason, as every refusal has',
  );
  t.ok(elapsed >= 1000 && elapsed < 3000, `closed after ${elapsed} ms (limit 1 s, checked every 250 ms)`);
  t.notMatch(await scrape(webhook), /epp_webhook_bad_requests_total\{[^}]*status="408"/, 'a stalled client is not counted as a bad request');

  // An idle keep-alive connection between requests is not a request in progress: it stays open.
  const kept = await secureConnection(port, webhook.ca);
  t.teardown(() => kept.destroy());
  const first = await exchange(kept, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  t.equal(first.slice(9, 12), '200');
  await new Promise((r) => setTimeout(r, 2000));
  t.notOk(kept.destroyed, 'the kept-alive connection is still open after twice the limit');
  t.equal((await exchange(kept, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n')).slice(9, 12), '200', 'and answers its next request');
});

t.test("a request Node's HTTP parser refuses: a status and a reason, counted and logged as other", async (t) => {
  const webhook = await startWebhookUnderTest({});
  t.teardown(() => webhook.server.close());
  const port = webhook.server.port;
  const body = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
  const garbage = await rawAnswer(port, webhook.ca, 'SECRET-TOKEN /mutate HTTP/1.1\r\n\r\n');
  t.equal(garbage.slice(9, 12), '400');
  t.same(body(garbage), { error: 'Bad Request', reason: 'not an HTTP/1.x request the server can read (HPE_INVALID_METHOD)' });
  const huge = await rawAnswer(port, webhook.ca, `POST /mutate HTTP/1.1\r\nHost: localhost\r\nX-Filler: ${'x'.repeat(20 * 1024)}\r\n\r\n`);
  t.equal(huge.slice(9, 12), '431');
  t.match(body(huge).reason, /^the request's headers are larger than \d+ bytes$/);
  t.notMatch(garbage + huge, /SECRET-TOKEN|xxxx/, 'nothing of the request quoted');
  const older = await rawAnswer(port, webhook.ca, 'GET /healthz HTTP/1.0\r\n\r\n');
  t.equal(older.slice(0, 12), 'HTTP/1.1 200', 'an HTTP/1.0 request the parser reads is answered');
  const metrics = await scrape(webhook);
  t.match(metrics, /epp_webhook_bad_requests_total\{endpoint="other",status="400"\} 1/);
  t.match(metrics, /epp_webhook_bad_requests_total\{endpoint="other",status="431"\} 1/);
});

t.test('a client that hangs up in the middle of its request is not a bad request', async (t) => {
  const webhook = await startWebhookUnderTest({});
  t.teardown(() => webhook.server.close());
  const socket = await secureConnection(webhook.server.port, webhook.ca);
  socket.on('error', () => {});
  socket.write('POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"apiVersion"');
  await new Promise((resolve) => setTimeout(resolve, 100));
  socket.destroy();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const metrics = await scrape(webhook);
  t.notMatch(metrics, /epp_webhook_bad_requests_total\{endpoint="other"/, 'no bad request counted (nor logged: the two go together)');
});

t.test('the metrics port has the same bounds: connections past maxConnections are closed, stalled ones too', async (t) => {
  // The port is plain HTTP and deploy/'s NetworkPolicy opens it to every pod, as the webhook port. Without a bound, 8,000
  // connections each sending half a request took a server from 130 to 210 MB of resident memory (16,000 pass deploy/'s
  // 320Mi limit), and Node's own limits cut them only after 60 s.
  const webhook = await startWebhookUnderTest({ config: parseConfig({ maxConnections: 3 }), requestTimeoutMs: 1000 });
  t.teardown(() => webhook.server.close());
  const port = webhook.server.metricsPort!;
  const plainConnection = () =>
    new Promise<import('node:net').Socket>((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port });
      socket.once('connect', () => resolve(socket)).once('error', reject);
    });
  const open = [await plainConnection(), await plainConnection(), await plainConnection()];
  t.teardown(() => open.forEach((s) => s.destroy()));
  // Read what they are sent: the server closes an idle one either bare or after a 408 (whichever of its two timers comes
  // first), and a socket that leaves the 408 unread never sees the close that follows it.
  const openReceived = open.map(() => '');
  open.forEach((socket, i) => socket.on('data', (chunk: Buffer) => (openReceived[i] += chunk.toString('latin1'))));
  const extra = await plainConnection();
  extra.on('error', () => {});
  extra.write('GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n');
  let extraAnswer = '';
  extra.on('data', (chunk: Buffer) => (extraAnswer += chunk.toString('latin1')));
  const extraClosed = await Promise.race([new Promise((resolve) => extra.once('close', () => resolve(true))), new Promise((resolve) => setTimeout(() => resolve(false), 500))]);
  extra.destroy();
  t.ok(extraClosed && extraAnswer === '', `the fourth connection is closed unanswered (${extraClosed ? 'closed' : 'still open'}, ${extraAnswer.length} bytes)`);

  // The three open ones sent nothing: each is closed within the request timeout, after which the port answers again.
  const started = Date.now();
  const allClosed = Promise.all(open.map((socket) => new Promise((resolve) => (socket.destroyed ? resolve(undefined) : socket.once('close', resolve)))));
  // Closed about a second after connecting, where Node's own limits held them for 60 s or for good.
  await Promise.race([allClosed, new Promise((resolve) => setTimeout(resolve, 8000))]);
  const elapsed = Date.now() - started;
  t.ok(open.every((socket) => socket.destroyed) && elapsed < 5000, `connections that sent nothing closed after ${elapsed} ms (limit 1 s; destroyed: ${open.map((s) => s.destroyed)})`);
  t.ok(openReceived.every((received) => received === '' || received.slice(9, 12) === '408'), 'each unanswered, or answered 408 Request Timeout');
  open.forEach((socket) => socket.destroy());
  const scrape = await fetch(`http://127.0.0.1:${port}/metrics`);
  t.equal(scrape.status, 200, 'then a scrape is answered');
  await scrape.text();

  const halfHeaders = await plainConnection();
  let received = '';
  halfHeaders.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  halfHeaders.on('error', () => {});
  halfHeaders.write('GET /metrics HTTP/1.1\r\nHost: localhost\r\n');
  const halfStarted = Date.now();
  await Promise.race([new Promise((resolve) => halfHeaders.once('close', resolve)), new Promise((resolve) => setTimeout(resolve, 5000))]);
  halfHeaders.destroy();
  // Its headers' limit and the idle limit are the same here: a 408 or the bare close, whichever check comes first.
  t.ok(halfHeaders.destroyed && Date.now() - halfStarted < 3000, `half the headers: closed after ${Date.now() - halfStarted} ms`);
  t.ok(received === '' || received.slice(9, 12) === '408', 'unanswered, or answered 408 Request Timeout');
});

/** Writes `sent` on a new connection; resolves with everything received until the server closes it. */
async function rawAnswer(port: number, ca: Buffer, sent: string): Promise<string> {
  const socket = await secureConnection(port, ca);
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => {});
  if (sent !== '') socket.write(sent);
  await new Promise((resolve) => socket.once('close', resolve));
  return received;
}

/** One request on an open connection; resolves with the answer once its head and Content-Length of body are in. */
function exchange(socket: TLSSocket, sent: string): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      const length = /content-length: *(\d+)/i.exec(received);
      if (end >= 0 && length && received.length >= end + 4 + Number(length[1])) {
        socket.off('data', onData);
        resolve(received);
      }
    };
    socket.on('data', onData);
    socket.write(sent);
  });
}
