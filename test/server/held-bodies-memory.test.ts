/**
 * `epp-webhook serve` under deploy/'s own node flags and memory limit (read from deploy/base/deployment.yaml), against
 * 40 connections that each send the largest body the server accepts and hold back its last byte. Before
 * maxRequestBytesInFlight nothing bounded how much of that the server kept: 32 such connections took it to 345 MB of
 * resident memory, past the 320Mi limit (the kubelet would have killed it), without any credential.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { connect, type TLSSocket } from 'node:tls';
import { parse } from 'yaml';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { admissionReview, manifest } from '../helpers/fixtures.ts';
import { httpsRequest } from '../helpers/https-client.ts';
import { eventually } from '../helpers/eventually.ts';
import { heldRequest, type HeldAnswer, type HeldRequest } from './load-clients.ts';
import { startServeProcess, type ServeProcess } from './serve-process.ts';

const deployment = parse(readFileSync(new URL('../../deploy/base/deployment.yaml', import.meta.url), 'utf8'));
const container = deployment.spec.template.spec.containers.find((c: { name: string }) => c.name === 'webhook');
const nodeOptions: string[] = container.env.find((e: { name: string }) => e.name === 'NODE_OPTIONS').value.split(' ');
const limit: string = container.resources.limits.memory;
const limitBytes = Number(/^(\d+)Mi$/.exec(limit)![1]) * 1024 * 1024;

/** The guide's HTTPRoute with `rules` rules to its InferencePool, as an AdmissionReview: an ExtensionRef patch each. */
function routeReview(rules: number, uid: string): Buffer {
  const route = manifest('guide-httproute.yaml');
  const backendRefs = route.spec.rules[0].backendRefs;
  route.spec.rules = Array.from({ length: rules }, () => ({ backendRefs }));
  return Buffer.from(JSON.stringify(admissionReview(route, 'CREATE', uid)));
}

/** `count` connections that each send `body` to /mutate and never read what comes back. */
async function unreadRequests(serve: ServeProcess, body: Buffer, count: number): Promise<TLSSocket[]> {
  const sockets: TLSSocket[] = [];
  for (let i = 0; i < count; i++) {
    const socket = connect({ host: '127.0.0.1', port: serve.port, ca: serve.ca, servername: 'localhost' });
    socket.on('error', () => {});
    socket.write(`POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body);
    socket.pause();
    sockets.push(socket);
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
  }
  return sockets;
}

function peakBytes(serve: ServeProcess): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${serve.child.pid}/status`, 'utf8'))![1]) * 1024;
}

t.test(`40 connections each holding back the last byte of a maxRequestBytes body: the server stays under ${limit}`, async (t) => {
  const serve = await startServeProcess({ nodeOptions });
  t.teardown(() => serve.kill());
  const object = manifest('guide-envoyfilter.yaml');
  object.metadata.annotations = { padding: '' };
  const size = DEFAULT_CONFIG.maxRequestBytes - 1024;
  object.metadata.annotations.padding = 'x'.repeat(size - JSON.stringify(admissionReview(object, 'CREATE', 'big')).length);
  const body = Buffer.from(JSON.stringify(admissionReview(object, 'CREATE', 'big')));

  const held: HeldRequest[] = await Promise.all(
    Array.from({ length: 40 }, () => heldRequest({ port: serve.port, ca: serve.ca, path: '/mutate', body, sentBytes: body.length - 1 })),
  );
  t.teardown(() => held.forEach((h) => h.socket.destroy()));
  const fits = Math.floor(DEFAULT_CONFIG.maxRequestBytesInFlight / body.length);
  // Those past the limit are answered at once; the others wait for their last byte.
  const answers: (HeldAnswer | { closed: string } | undefined)[] = held.map(() => undefined);
  held.forEach((h, i) => h.response.then((answer) => (answers[i] = answer)));
  await eventually(() => answers.filter(Boolean).length >= 40 - fits, 10_000);
  await new Promise((r) => setTimeout(r, 200));
  const refused = answers.filter((a) => a !== undefined && 'status' in a && a.status === 429).length;
  t.equal(refused, 40 - fits, `${40 - fits} refused with 429, ${fits} held (maxRequestBytesInFlight ${DEFAULT_CONFIG.maxRequestBytesInFlight})`);

  const peak = peakBytes(serve);
  t.ok(peak < limitBytes, `peak resident memory ${(peak / 2 ** 20).toFixed(0)} MiB, under deploy/'s ${limit}`);

  const waiting = held.filter((_h, i) => answers[i] === undefined);
  const finished = await waiting[0].finish();
  t.equal(finished.status, 200, 'a held request, once complete, is answered');
  t.equal(JSON.parse(finished.body).response.allowed, true);
  t.equal((await httpsRequest(`${serve.url}/healthz`, { ca: serve.ca })).status, 200, 'and the server still answers');
  t.equal(serve.child.exitCode, null, 'still running');
});

t.test(`40 connections each sending an HTTPRoute of 33,000 rules and reading nothing: the server stays under ${limit}`, async (t) => {
  // Each answer is twice its request (an ExtensionRef per rule) and waits in memory for a client that never reads it.
  // Before the limit the process ran its heap out of memory and aborted.
  const serve = await startServeProcess({ nodeOptions });
  t.teardown(() => serve.kill());
  const body = routeReview(33_000, 'many-rules');
  const sockets = await unreadRequests(serve, body, 40);
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  // Some are refused before their bodies are read, and an answer that does not fit beside the others is refused too.
  const admitted = () => serve.logs().filter((l) => l.msg === 'admission').length;
  const refused = () => serve.logs().filter((l) => l.msg === 'bad request' && l.status === 429).length;
  t.ok(await eventually(() => admitted() >= 1 && admitted() + refused() === 40, 30_000), `${admitted()} answered, ${refused()} refused with 429`);
  await new Promise((r) => setTimeout(r, 1000));

  const peak = peakBytes(serve);
  t.ok(peak < limitBytes, `peak resident memory ${(peak / 2 ** 20).toFixed(0)} MiB, under deploy/'s ${limit}`);
  t.equal((await httpsRequest(`${serve.url}/healthz`, { ca: serve.ca })).status, 200, 'the server still answers');
});

t.test(`maxConnections connections each sending an HTTPRoute under 64 KiB and reading nothing: the server stays under ${limit}`, async (t) => {
  // Bodies and answers up to 64 KiB are not counted, so the apiserver's objects are never refused for what another
  // client holds: the number of connections bounds them.
  const serve = await startServeProcess({ nodeOptions });
  t.teardown(() => serve.kill());
  const connections = DEFAULT_CONFIG.maxConnections;
  const sockets = await unreadRequests(serve, routeReview(280, 'small'), connections);
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  const admitted = () => serve.logs().filter((l) => l.msg === 'admission').length;
  t.ok(await eventually(() => admitted() === connections, 60_000), `${admitted()} of ${connections} admitted, none refused`);
  await new Promise((r) => setTimeout(r, 1000));

  const peak = peakBytes(serve);
  t.ok(peak < limitBytes, `peak resident memory ${(peak / 2 ** 20).toFixed(0)} MiB, under deploy/'s ${limit}`);
  sockets.slice(0, 10).forEach((s) => s.destroy());
  t.ok(await eventually(async () => (await httpsRequest(`${serve.url}/healthz`, { ca: serve.ca }).catch(() => ({ status: 0 }))).status === 200), 'the server still answers');
});

t.test(`40 connections each reading a 3.6 MB answer and staying open: the server stays under ${limit}`, async (t) => {
  // A TLS socket keeps a buffer as large as its largest write while it is open: before the server closed the
  // connection after a large answer, this held 333 MiB (the review of fix 14).
  const serve = await startServeProcess({ nodeOptions });
  t.teardown(() => serve.kill());
  const body = routeReview(16_000, 'read-and-stay');
  const held: HeldRequest[] = [];
  t.teardown(() => held.forEach((h) => h.socket.destroy()));
  for (let i = 0; i < 40; i++) {
    const request = await heldRequest({ port: serve.port, ca: serve.ca, path: '/mutate', body, sentBytes: body.length });
    held.push(request);
    const answer = await request.response;
    if (!('status' in answer) || answer.status !== 200) throw new Error(`request ${i}: ${JSON.stringify(answer).slice(0, 200)}`);
  }
  const peak = peakBytes(serve);
  t.ok(peak < limitBytes, `peak resident memory ${(peak / 2 ** 20).toFixed(0)} MiB, under deploy/'s ${limit}`);
});
