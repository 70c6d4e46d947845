/**
 * SIGTERM under load, on `epp-webhook serve` as its own process: the admission in flight is answered, new
 * connections are refused, a client that never finishes its request cannot hold the exit past the drain limit,
 * and the process exits 0 well inside the pod's grace period (30 s in deploy/, minus the 5 s preStop pause).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import jsonpatch from 'fast-json-patch';
import { writeServingBundle } from '../../src/certs/serving-bundle.ts';
import { admissionReview, EPP_CLUSTER_IP, FIXTURES, manifest } from '../helpers/fixtures.ts';
import { scratchDir } from '../helpers/scratch-dir.ts';
import { heldRequest, requestLoops } from './load-clients.ts';
import { startServeProcess } from './serve-process.ts';

const UID = 'shutdown-under-load';
const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

t.test('SIGTERM under load: in-flight admissions finish, new connections are refused, exit 0 within the drain limit', async (t) => {
  const serve = await startServeProcess();
  t.teardown(() => serve.kill());
  const object = manifest('guide-envoyfilter.yaml');
  const review = admissionReview(object, 'CREATE', UID);
  const body = JSON.stringify(review);

  const keepAlive = requestLoops({ url: `${serve.url}/mutate`, ca: serve.ca, body, uid: UID, clients: 4, keepAlive: true, stopOnError: true });
  const fresh = requestLoops({ url: `${serve.url}/mutate`, ca: serve.ca, body, uid: UID, clients: 2, keepAlive: false, stopOnError: true });
  await new Promise((r) => setTimeout(r, 1500));

  // An admission in flight at SIGTERM: its headers and half its body are in, the rest comes after the signal.
  const inFlight = await heldRequest({ port: serve.port, ca: serve.ca, path: '/mutate', body, sentBytes: Math.floor(body.length / 2) });
  // A client that never finishes its request (a stalled peer): it must not keep the process alive.
  const stalled = await heldRequest({ port: serve.port, ca: serve.ca, path: '/mutate', body, sentBytes: 10 });
  await new Promise((r) => setTimeout(r, 100));

  const sigterm = performance.now();
  serve.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  const answer = await inFlight.finish();
  t.equal(answer.status, 200, 'the admission in flight at SIGTERM is answered');
  const response = JSON.parse(answer.body).response;
  t.equal(response.uid, UID);
  t.equal(response.allowed, true);
  const stored = jsonpatch.applyPatch(structuredClone(object), JSON.parse(Buffer.from(response.patch, 'base64').toString())).newDocument as any;
  t.equal(stored.metadata.annotations['epp-webhook.io/resolved-cluster-ip'], EPP_CLUSTER_IP, 'with the right patch');

  t.ok(await refused(serve.port), 'a new connection after SIGTERM is refused');

  const exit = await serve.exited;
  const exitMs = Math.round(exit.at - sigterm);
  t.equal(exit.code, 0, 'exit code 0');
  t.ok(exitMs < 12_000, `exited ${exitMs} ms after SIGTERM, with a stalled client connected (drain limit 10 s; grace period 25 s)`);
  t.match(await stalled.response, { closed: String }, 'the stalled connection was closed, not answered');

  const loops = [await keepAlive.stop(), await fresh.stop()];
  const ok = loops.reduce((n, l) => n + l.ok, 0);
  const bad = loops.flatMap((l) => l.bad);
  const errors = loops.flatMap((l) => l.errors);
  t.ok(ok > 50, `${ok} admissions answered under load before the signal`);
  t.same(bad, [], 'no request got an error answer (503 or other) instead of its AdmissionReview');
  t.ok(
    errors.every((e) => e.at > sigterm),
    `connection errors only after SIGTERM: ${errors.map((e) => e.code).join(', ') || 'none'}`,
  );
  t.comment(`SIGTERM: ${ok} answered, ${errors.length} connection errors after the signal (${[...new Set(errors.map((e) => e.code))].join(', ')}), exit after ${exitMs} ms`);
  t.ok(serve.logs().some((l) => l.msg === 'shutting down: finishing in-flight admissions' && l.signal === 'SIGTERM'));
});

t.test('SIGTERM with only well-behaved keep-alive clients: exit 0 at once, idle connections closed', async (t) => {
  const serve = await startServeProcess();
  t.teardown(() => serve.kill());
  const body = JSON.stringify(admissionReview(manifest('guide-httproute.yaml'), 'CREATE', UID));
  const loops = requestLoops({ url: `${serve.url}/mutate`, ca: serve.ca, body, uid: UID, clients: 4, keepAlive: true, stopOnError: true });
  await new Promise((r) => setTimeout(r, 1000));
  const sigterm = performance.now();
  serve.child.kill('SIGTERM');
  const exit = await serve.exited;
  const tally = await loops.stop();
  const exitMs = Math.round(exit.at - sigterm);
  t.equal(exit.code, 0);
  t.ok(exitMs < 2000, `exited ${exitMs} ms after SIGTERM`);
  t.ok(tally.ok > 20, `${tally.ok} answered`);
  t.same(tally.bad, [], 'no error answers');
});

t.test('SIGTERM with an admission in flight: its answer says Connection: close, so its connection ends and the process exits at once', async (t) => {
  const serve = await startServeProcess();
  t.teardown(() => serve.kill());
  const body = JSON.stringify(admissionReview(manifest('guide-envoyfilter.yaml'), 'CREATE', UID));
  // Its headers are in before the signal; the rest of its body comes after.
  const inFlight = await heldRequest({ port: serve.port, ca: serve.ca, path: '/mutate', body, sentBytes: 100 });
  await new Promise((r) => setTimeout(r, 100));
  const sigterm = performance.now();
  serve.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  const answer = await inFlight.finish();
  t.equal(answer.status, 200, 'answered');
  t.match(answer.headers, /\r\nconnection: close/i, 'with Connection: close (keep-alive held the connection, and the exit, until the 10 s drain limit)');
  const exit = await serve.exited;
  const exitMs = Math.round(exit.at - sigterm);
  t.equal(exit.code, 0);
  t.ok(exitMs < 2000, `exited ${exitMs} ms after SIGTERM`);
});

t.test('a start that fails at the metrics port exits with one line, instead of hanging on the webhook port it opened', async (t) => {
  const blocker = createNetServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const busyPort = (blocker.address() as AddressInfo).port;
  const bundle = writeServingBundle(scratchDir('epp-webhook-busy-metrics-'), { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
  const child = spawn(
    process.execPath,
    [MAIN, 'serve', '--host=127.0.0.1', '--port=0', `--metrics-port=${busyPort}`, `--tls-cert=${bundle.certFile}`, `--tls-key=${bundle.keyFile}`, `--services=${FIXTURES}manifests/services.yaml`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exit = await new Promise<number | null | 'still running'>((resolve) => {
    const timer = setTimeout(() => (child.kill('SIGKILL'), resolve('still running')), 15_000);
    child.once('exit', (code) => (clearTimeout(timer), resolve(code)));
  });
  t.equal(exit, 1, 'serve exits 1');
  t.match(stderr, new RegExp(`^epp-webhook serve: listen EADDRINUSE: address already in use 127\\.0\\.0\\.1:${busyPort}\\n$`), 'with one line naming the port');
});
