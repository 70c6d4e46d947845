/**
 * TLS checked from the outside, with node:tls clients: protocol versions, the TLS 1.2 cipher suites the server
 * accepts (before and after a certificate reload), and client-certificate verification (mTLS, serve --client-ca).
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { connect, getCiphers, type ConnectionOptions } from 'node:tls';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate, type PemPair } from '../../src/certs/authority.ts';
import { writeServingBundle } from '../../src/certs/serving-bundle.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { runServeCommand } from '../../src/commands/serve.ts';
import { startWebhookServer, type RunningWebhookServer } from '../../src/server/webhook-server.ts';
import { TLS12_CIPHERS } from '../../src/server/tls-options.ts';
import { admissionReview, fixtureResolver, manifest } from '../helpers/fixtures.ts';
import { startWebhookUnderTest } from '../helpers/webhook-under-test.ts';
import { handMadeCertificate } from '../helpers/hand-made-certificate.ts';
import { eventually } from '../helpers/eventually.ts';
import { scratchDir } from '../helpers/scratch-dir.ts';

type Handshake = { ok: true; version: string; cipher: string } | { ok: false; error: string };

function handshake(port: number, ca: Buffer | string, options: ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...options }, () => {
      const result: Handshake = { ok: true, version: socket.getProtocol() ?? '?', cipher: socket.getCipher().standardName };
      socket.destroy();
      resolve(result);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, error: error.code ?? error.message }));
  });
}

/** Every TLS 1.2 suite this Node's OpenSSL can offer, tried one at a time: the ones the server accepts. */
async function acceptedTls12Suites(port: number, ca: Buffer | string): Promise<{ accepted: string[]; tried: number }> {
  const accepted: string[] = [];
  let tried = 0;
  for (const name of getCiphers().map((c) => c.toUpperCase())) {
    if (name.startsWith('TLS_')) continue;
    tried++;
    const result = await handshake(port, ca, { maxVersion: 'TLSv1.2', ciphers: name });
    if (result.ok) accepted.push(name);
  }
  return { accepted, tried };
}

t.test('protocols: TLS 1.0 and 1.1 refused; 1.2 and 1.3 negotiate forward-secret AEAD suites', async (t) => {
  const webhook = await startWebhookUnderTest({ tlsPollIntervalMs: 50 });
  t.teardown(() => webhook.server.close());
  const port = webhook.server.port;
  for (const version of ['TLSv1', 'TLSv1.1'] as const) {
    const result = await handshake(port, webhook.ca, { minVersion: version, maxVersion: version, ciphers: 'DEFAULT:@SECLEVEL=0' });
    t.notOk(result.ok, `${version} refused (${result.ok ? 'accepted!' : result.error})`);
  }
  const tls12 = await handshake(port, webhook.ca, { maxVersion: 'TLSv1.2' });
  const tls13 = await handshake(port, webhook.ca, { minVersion: 'TLSv1.3' });
  t.match(tls12, { ok: true, version: 'TLSv1.2', cipher: /^TLS_ECDHE_RSA_WITH_AES_(128|256)_GCM_SHA(256|384)$/ });
  t.match(tls13, { ok: true, version: 'TLSv1.3', cipher: /^TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/ });
  t.comment(`negotiated: ${JSON.stringify(tls12)} ${JSON.stringify(tls13)}`);

  // Weak suites a client can still offer: static RSA (no forward secrecy) and CBC, which Node's defaults accept.
  for (const weak of ['AES128-SHA', 'AES256-SHA256', 'AES128-GCM-SHA256', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA384']) {
    const result = await handshake(port, webhook.ca, { maxVersion: 'TLSv1.2', ciphers: `${weak}:@SECLEVEL=0` });
    t.notOk(result.ok, `${weak} refused (${result.ok ? `accepted as ${result.cipher}` : result.error})`);
  }
  // 3DES and RC4 are not in this OpenSSL at all (the server's, as it runs on the same Node): nobody can negotiate them.
  for (const gone of ['des-cbc3-sha', 'rc4-sha', 'rc4-md5']) t.notOk(getCiphers().includes(gone), `${gone.toUpperCase()} is not in OpenSSL ${process.versions.openssl}`);

  const { accepted, tried } = await acceptedTls12Suites(port, webhook.ca);
  t.ok(accepted.length > 0 && accepted.every((c) => TLS12_CIPHERS.includes(c)), `of ${tried} TLS 1.2 suites offered one by one, accepted only: ${accepted.join(', ')}`);

  // setSecureContext replaces the whole context: a reloaded certificate must keep the restricted list.
  const before = readFileSync(join(webhook.certDir, 'tls.crt'), 'utf8');
  writeServingBundle(webhook.certDir, { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
  const deadline = Date.now() + 5000;
  let served = '';
  while (Date.now() < deadline) {
    served = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, ca: webhook.ca, servername: 'localhost' }, () => {
        resolve(socket.getPeerX509Certificate()?.toString() ?? '');
        socket.destroy();
      });
      socket.once('error', () => resolve(''));
    });
    if (served !== '' && served.replace(/\s/g, '') !== before.replace(/\s/g, '')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.not(served.replace(/\s/g, ''), before.replace(/\s/g, ''), 'the reloaded certificate is served');
  const afterReload = await acceptedTls12Suites(port, webhook.ca);
  t.same(afterReload.accepted, accepted, 'the same suites after a certificate reload');
});

interface MtlsServer {
  server: RunningWebhookServer;
  serving: ReturnType<typeof writeServingBundle>;
  servingCa: Buffer;
  clientCa: PemPair;
  clientCaFile: string;
  /** The server's log lines, parsed. */
  logLines: Array<Record<string, unknown>>;
}

async function startMtlsServer(clientCommonNames: string[]): Promise<MtlsServer> {
  const dir = scratchDir('epp-webhook-mtls-');
  const serving = writeServingBundle(dir, { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
  const clientCa = createCertificateAuthority({ commonName: 'apiserver-client-ca', validityDays: 2 });
  const clientCaFile = join(dir, 'client-ca.crt');
  writeFileSync(clientCaFile, clientCa.certPem);
  const logLines: Array<Record<string, unknown>> = [];
  const server = await startWebhookServer({
    config: DEFAULT_CONFIG,
    resolver: fixtureResolver(),
    certFile: serving.certFile,
    keyFile: serving.keyFile,
    host: '127.0.0.1',
    port: 0,
    metricsPort: 0,
    logger: { level: 'info', stream: { write: (line: string) => void logLines.push(JSON.parse(line)) } },
    tlsPollIntervalMs: 50,
    clientCaFile,
    clientCommonNames,
  });
  return { server, serving, servingCa: readFileSync(serving.caCertFile), clientCa, clientCaFile, logLines };
}

function post(port: number, ca: Buffer, client: PemPair | undefined, body: unknown, path = '/mutate'): Promise<{ status: number; body: any } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(
      `https://127.0.0.1:${port}${path}`,
      { method: 'POST', ca, servername: 'localhost', agent: false, headers: { 'content-type': 'application/json' }, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end(JSON.stringify(body));
  });
}

function getPlain(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpRequest(`http://127.0.0.1:${port}${path}`, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject).end();
  });
}

t.test('mTLS: no client certificate, or one from another CA, is refused in the TLS handshake; a CN outside --client-cn gets 403', async (t) => {
  const mtls = await startMtlsServer(['kube-apiserver']);
  t.teardown(() => mtls.server.close());
  const { port } = mtls.server;
  const review = admissionReview(manifest('guide-envoyfilter.yaml'), 'CREATE', 'mtls-1');
  const apiserver = issueCertificate(mtls.clientCa, { commonName: 'kube-apiserver', validityDays: 1, usage: 'client' });
  const other = issueCertificate(mtls.clientCa, { commonName: 'someone-else', validityDays: 1, usage: 'client' });
  const stranger = issueCertificate(createCertificateAuthority({ commonName: 'stranger-ca', validityDays: 1 }), { commonName: 'kube-apiserver', validityDays: 1, usage: 'client' });

  const none = await post(port, mtls.servingCa, undefined, review);
  t.match(none, { error: /CERTIFICATE_REQUIRED|ECONNRESET|EPIPE/ }, `without a client certificate: no HTTP answer at all (${JSON.stringify(none)})`);
  const foreign = await post(port, mtls.servingCa, stranger, review);
  t.match(foreign, { error: /UNKNOWN_CA|ECONNRESET|EPIPE/ }, `a certificate from another CA: refused in the handshake (${JSON.stringify(foreign)})`);
  const forbidden = await post(port, mtls.servingCa, other, review);
  t.match(forbidden, { status: 403, body: { error: 'Forbidden', reason: /--client-cn/ } }, 'a CN not on the list: 403 with a reason');
  const secret = 'sk-live-query-9f8e7d';
  t.match(await post(port, mtls.servingCa, other, review, `/mutate?token=${secret}`), { status: 403 });
  const refusals = mtls.logLines.filter((line) => line.msg === 'client certificate not allowed');
  t.match(refusals, [{ clientCN: 'someone-else', route: '/mutate' }, { clientCN: 'someone-else', route: '/mutate' }], 'the refusal is logged with the CN and the route');
  t.notMatch(JSON.stringify(mtls.logLines), secret, 'but nothing of the URL past its route');
  const allowed = await post(port, mtls.servingCa, apiserver, review);
  t.match(allowed, { status: 200, body: { response: { uid: 'mtls-1', allowed: true, patchType: 'JSONPatch' } } }, 'the apiserver\'s certificate: answered');

  // TLS 1.2 too: the refusal is in the handshake itself.
  const tls12 = await handshake(port, mtls.servingCa, { maxVersion: 'TLSv1.2' });
  t.notOk(tls12.ok, `TLS 1.2 handshake without a client certificate fails (${tls12.ok ? 'accepted!' : tls12.error})`);

  // Probes cannot present a client certificate: the plain metrics port answers them.
  t.equal(await getPlain(mtls.server.metricsPort!, '/healthz'), 200);
  t.equal(await getPlain(mtls.server.metricsPort!, '/readyz'), 200);

  // A reloaded serving certificate keeps asking for and checking client certificates.
  writeServingBundle(join(mtls.serving.certFile, '..'), { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
  await new Promise((r) => setTimeout(r, 400));
  t.match(await post(port, mtls.servingCa, undefined, review), { error: String }, 'after a reload: still refused without a certificate');
  t.match(await post(port, mtls.servingCa, apiserver, review), { status: 200 }, 'after a reload: the apiserver is answered');
});

t.test('mTLS without --client-cn: any certificate from the client CA is answered', async (t) => {
  const mtls = await startMtlsServer([]);
  t.teardown(() => mtls.server.close());
  const anyone = issueCertificate(mtls.clientCa, { commonName: 'any-name', validityDays: 1, usage: 'client' });
  t.match(await post(mtls.server.port, mtls.servingCa, anyone, admissionReview(manifest('guide-httproute.yaml'))), { status: 200 });
});

/** Whether the server answers an admission from `client` (false: refused in the handshake). */
async function answers(mtls: MtlsServer, client: PemPair): Promise<boolean> {
  return 'status' in (await post(mtls.server.port, mtls.servingCa, client, admissionReview(manifest('guide-httproute.yaml'))));
}

t.test('mTLS: the client CA rotates without a restart; a broken or CA-less bundle leaves the previous one trusted', async (t) => {
  const mtls = await startMtlsServer([]);
  t.teardown(() => mtls.server.close());
  const oldCa = mtls.clientCa;
  const newCa = createCertificateAuthority({ commonName: 'apiserver-client-ca-2', validityDays: 2 });
  const oldClient = issueCertificate(oldCa, { commonName: 'kube-apiserver', validityDays: 1, usage: 'client' });
  const newClient = issueCertificate(newCa, { commonName: 'kube-apiserver', validityDays: 1, usage: 'client' });
  t.ok(await answers(mtls, oldClient), 'before: the first CA\'s client is answered');
  t.notOk(await answers(mtls, newClient), 'before: the second CA\'s client is refused');

  // A rotation's first step: both CAs in the bundle, so either apiserver certificate works while it is reissued.
  writeFileSync(mtls.clientCaFile, oldCa.certPem + newCa.certPem);
  t.ok(await eventually(() => answers(mtls, newClient)), 'both CAs in the bundle: the second CA\'s client is answered');
  t.ok(await answers(mtls, oldClient), 'both CAs in the bundle: the first CA\'s client still is');
  const reload = mtls.logLines.find((line) => line.msg === 'client CA reloaded');
  t.match(reload, { clientCaFile: mtls.clientCaFile });
  t.same(reload?.caSubjects, ['CN=apiserver-client-ca', 'CN=apiserver-client-ca-2'], 'the reload names both roots');

  // Half-written or wrong files are not applied: trusting nothing, or only a leaf, would refuse the apiserver.
  const leafOnly = issueCertificate(newCa, { commonName: 'not-a-ca', validityDays: 1, usage: 'client' });
  for (const [what, contents, reason] of [
    ['an empty file', '', /holds no PEM certificate/],
    ['a leaf certificate only', leafOnly.certPem, /holds no self-signed \(root\) certificate/],
    ['a damaged certificate', newCa.certPem.replace(/\n[A-Za-z0-9+/]{20}/, '\n'), /certificate 1 of 1 cannot be read/],
  ] as const) {
    const warningsBefore = mtls.logLines.filter((line) => line.level === 40).length;
    writeFileSync(mtls.clientCaFile, contents);
    t.ok(await eventually(async () => mtls.logLines.filter((line) => line.level === 40).length > warningsBefore), `${what}: a warning is logged`);
    t.match(mtls.logLines.findLast((line) => line.level === 40), { msg: /client CA file changed but is not usable; still trusting the previous one/, clientCaFile: mtls.clientCaFile, reason });
    t.ok((await answers(mtls, oldClient)) && (await answers(mtls, newClient)), `${what}: both CAs stay trusted`);
  }

  // The rotation's last step: the first CA removed.
  writeFileSync(mtls.clientCaFile, newCa.certPem);
  t.ok(await eventually(async () => !(await answers(mtls, oldClient))), 'the first CA removed: its client is refused in the handshake');
  t.ok(await answers(mtls, newClient), 'the second CA\'s client is answered');

  // A serving pair reloaded after the CA keeps the CA, not the one the server started with.
  const reloadsBefore = mtls.logLines.filter((line) => line.msg === 'serving certificate reloaded').length;
  writeServingBundle(join(mtls.serving.certFile, '..'), { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
  t.ok(await eventually(async () => mtls.logLines.filter((line) => line.msg === 'serving certificate reloaded').length > reloadsBefore), 'the serving pair reloaded');
  t.notOk(await answers(mtls, oldClient), 'after the pair\'s reload: the first CA\'s client is still refused');
  t.ok(await answers(mtls, newClient), 'after the pair\'s reload: the second CA\'s client is answered');
});

t.test('mTLS: a serving pair OpenSSL refuses is not kept, so the next client CA reload still applies', async (t) => {
  const mtls = await startMtlsServer([]);
  t.teardown(() => mtls.server.close());
  // A pair that matches (so the file check passes) but that Node's TLS refuses: an RSA key of 1,024 bits.
  const weak = handMadeCertificate('localhost', { extensions: [], modulusLength: 1024 });
  writeFileSync(mtls.serving.keyFile, weak.keyPem);
  writeFileSync(mtls.serving.certFile, weak.certPem);
  const warned = () => mtls.logLines.some((line) => line.level === 40 && String(line.msg).startsWith('serving certificate files changed'));
  t.ok(await eventually(async () => warned()), 'the weak pair: a warning is logged');
  t.match(mtls.logLines.find((line) => line.level === 40), { reason: /key too small/ }, 'the warning says why');

  const newCa = createCertificateAuthority({ commonName: 'apiserver-client-ca-2', validityDays: 2 });
  const newClient = issueCertificate(newCa, { commonName: 'kube-apiserver', validityDays: 1, usage: 'client' });
  writeFileSync(mtls.clientCaFile, mtls.clientCa.certPem + newCa.certPem);
  t.ok(await eventually(() => answers(mtls, newClient)), 'the CA reload applies, with the pair still served');
  t.ok(mtls.logLines.some((line) => line.msg === 'client CA reloaded'));
  t.notOk(mtls.logLines.some((line) => line.level === 40 && line.clientCaFile !== undefined), 'the CA reload is not blamed for the pair');
});


t.test('serve: --client-cn without --client-ca is a usage error; an unreadable or CA-less --client-ca stops the start', async (t) => {
  const io = () => {
    let stderr = '';
    return { io: { stdout: { write: () => true }, stderr: { write: (s: string) => ((stderr += s), true) } } as any, stderr: () => stderr };
  };
  const a = io();
  t.equal(await runServeCommand(['--client-cn', 'kube-apiserver', '--services', 'x.yaml'], a.io), 2);
  t.match(a.stderr(), /--client-cn needs --client-ca/);
  const b = io();
  const dir = scratchDir('epp-webhook-mtls-flags-');
  const bundle = writeServingBundle(dir, { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
  const services = new URL('../fixtures/manifests/services.yaml', import.meta.url).pathname;
  t.equal(
    await runServeCommand(['--client-ca', join(dir, 'missing.crt'), '--services', services, '--tls-cert', bundle.certFile, '--tls-key', bundle.keyFile, '--port', '0', '--metrics-port', 'off', '--host', '127.0.0.1'], b.io),
    1,
  );
  t.match(b.stderr(), /cannot read client CA file .*missing\.crt/);
  const c = io();
  writeFileSync(join(dir, 'serving-cert-as-ca.crt'), readFileSync(bundle.certFile));
  t.equal(
    await runServeCommand(['--client-ca', join(dir, 'serving-cert-as-ca.crt'), '--services', services, '--tls-cert', bundle.certFile, '--tls-key', bundle.keyFile, '--port', '0', '--metrics-port', 'off', '--host', '127.0.0.1'], c.io),
    1,
  );
  t.match(c.stderr(), /client CA file .*serving-cert-as-ca\.crt holds no self-signed \(root\) certificate/, 'a leaf given as --client-ca stops the start instead of refusing every client');
  t.notMatch(b.stderr() + c.stderr(), /\n\s+at /, 'one line each, no stack trace');
});


t.test('serve: a serving pair Node\'s TLS refuses (an RSA-1024 key) stops the start with one line naming both files and why', async (t) => {
  const dir = scratchDir('epp-webhook-weak-pair-');
  const weak = handMadeCertificate('localhost', { extensions: [], modulusLength: 1024 });
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  writeFileSync(certFile, weak.certPem);
  writeFileSync(keyFile, weak.keyPem);
  let stderr = '';
  const io = { stdout: { write: () => true }, stderr: { write: (s: string) => ((stderr += s), true) } } as any;
  const services = new URL('../fixtures/manifests/services.yaml', import.meta.url).pathname;
  t.equal(await runServeCommand(['--services', services, '--tls-cert', certFile, '--tls-key', keyFile, '--port', '0', '--metrics-port', 'off', '--host', '127.0.0.1'], io), 1);
  // Before: "epp-webhook serve: error:0A00018F:SSL routines::ee key too small", naming no file.
  t.match(stderr, /^epp-webhook serve: .*tls\.crt.*tls\.key.*key too small.*2048 bits/, 'names the files, what OpenSSL said and what it takes');
  t.equal(stderr.split('\n').length, 2, 'one line');
});
