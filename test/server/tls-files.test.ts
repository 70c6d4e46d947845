import t, { type Test } from 'tap';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect, type ConnectionOptions } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCertificateAuthority, issueCertificate, type PemPair } from '../../src/certs/authority.ts';
import { loadTlsPair, watchTlsFiles, type TlsFilesWatcher, type TlsMaterial } from '../../src/server/tls-files.ts';
import { eventually } from '../helpers/eventually.ts';
import { scratchDir } from '../helpers/scratch-dir.ts';

const ca = createCertificateAuthority({ commonName: 'tls-files test CA', validityDays: 1 });

function servingPair(): PemPair {
  return issueCertificate(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityDays: 1, usage: 'server' });
}

function serialOf(pair: PemPair): string {
  return new X509Certificate(pair.certPem).serialNumber;
}

function writeAtomically(file: string, contents: string): void {
  writeFileSync(`${file}.tmp`, contents);
  renameSync(`${file}.tmp`, file);
}

interface RunningServer {
  port: number;
  watcher: TlsFilesWatcher;
  errors: Error[];
  changes: TlsMaterial[];
}

/** A real HTTPS server whose secure context follows the files, the way `serve` wires it. */
async function startServer(t: Test, certFile: string, keyFile: string): Promise<RunningServer> {
  const errors: Error[] = [];
  const changes: TlsMaterial[] = [];
  let server: Server | undefined;
  const watcher = watchTlsFiles({
    certFile,
    keyFile,
    intervalMs: 100,
    onChange: (material) => {
      changes.push(material);
      server?.setSecureContext({ cert: material.cert, key: material.key, minVersion: 'TLSv1.2' });
    },
    onError: (error) => errors.push(error),
  });
  const initial = watcher.current();
  server = createServer({ cert: initial.cert, key: initial.key, minVersion: 'TLSv1.2' }, (_request, response) => response.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    watcher.close();
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, watcher, errors, changes };
}

function handshake(port: number, options: ConnectionOptions = {}): Promise<{ serialNumber: string; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: ca.certPem, ...options }, () => {
      const result = { serialNumber: socket.getPeerCertificate().serialNumber, protocol: socket.getProtocol() };
      socket.end();
      resolve(result);
    });
    socket.on('error', reject);
  });
}

async function eventuallyServed(port: number, serialNumber: string, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let served = '';
  while (Date.now() < deadline) {
    served = (await handshake(port)).serialNumber;
    if (served === serialNumber) return served;
    await sleep(50);
  }
  return served;
}

function tlsDir(first: PemPair): { dir: string; certFile: string; keyFile: string } {
  const dir = scratchDir('epp-tls-');
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  writeFileSync(certFile, first.certPem);
  writeFileSync(keyFile, first.keyPem);
  return { dir, certFile, keyFile };
}

t.test('a rotated pair is served to new connections without a restart', async (t) => {
  const first = servingPair();
  const { certFile, keyFile } = tlsDir(first);
  const running = await startServer(t, certFile, keyFile);
  const initial = await handshake(running.port);
  t.equal(initial.serialNumber, serialOf(first), 'serves the pair on disk at start');
  t.equal(initial.protocol, 'TLSv1.3');

  const second = servingPair();
  writeAtomically(keyFile, second.keyPem);
  writeAtomically(certFile, second.certPem);
  t.equal(await eventuallyServed(running.port, serialOf(second)), serialOf(second), 'atomic renames are picked up');
  t.equal(running.watcher.current().cert.toString(), second.certPem);
  t.same(running.watcher.current().notAfter, new X509Certificate(second.certPem).validToDate);

  const third = servingPair();
  writeFileSync(certFile, third.certPem);
  writeFileSync(keyFile, third.keyPem);
  t.equal(await eventuallyServed(running.port, serialOf(third)), serialOf(third), 'in-place writes, cert then key, are picked up');
  t.equal(running.changes.length, 2, 'one reload per rotation');
});

t.test('a certificate and key that do not match are not applied', async (t) => {
  const first = servingPair();
  const { certFile, keyFile } = tlsDir(first);
  const running = await startServer(t, certFile, keyFile);

  const second = servingPair();
  writeAtomically(certFile, second.certPem);
  t.ok(await eventually(() => running.errors.length > 0), 'onError is called');
  t.match(running.errors[0].message, /does not match the certificate/);
  t.equal((await handshake(running.port)).serialNumber, serialOf(first), 'the old pair is still served');
  t.equal(running.watcher.current().cert.toString(), first.certPem);
  await sleep(300);
  t.equal(running.errors.length, 1, 'the same half-written pair is reported once, not on every retry');

  writeAtomically(keyFile, second.keyPem);
  t.equal(await eventuallyServed(running.port, serialOf(second)), serialOf(second), 'served once the key catches up');
});

t.test('a Kubernetes Secret volume update (..data symlink swap) is picked up', async (t) => {
  const dir = scratchDir('epp-secret-volume-');
  const writeVersion = (name: string, pair: PemPair): void => {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'tls.crt'), pair.certPem);
    writeFileSync(join(dir, name, 'tls.key'), pair.keyPem);
  };
  const first = servingPair();
  writeVersion('..2025_01_01_v1', first);
  symlinkSync('..2025_01_01_v1', join(dir, '..data'));
  symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
  symlinkSync('..data/tls.key', join(dir, 'tls.key'));
  const running = await startServer(t, join(dir, 'tls.crt'), join(dir, 'tls.key'));
  t.equal((await handshake(running.port)).serialNumber, serialOf(first));

  // What the kubelet's atomic writer does: new version directory, new symlink, renamed over ..data.
  const second = servingPair();
  writeVersion('..2025_01_02_v2', second);
  symlinkSync('..2025_01_02_v2', join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  t.equal(await eventuallyServed(running.port, serialOf(second)), serialOf(second));
  t.same(running.errors, []);
});

t.test('clients older than TLS 1.2 are refused by the server', async (t) => {
  const { certFile, keyFile } = tlsDir(servingPair());
  const running = await startServer(t, certFile, keyFile);
  // SECLEVEL=0 lets our client offer TLS 1.1 at all, so the refusal below is the server's, not the client's.
  await t.rejects(
    handshake(running.port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' },
  );
  t.equal((await handshake(running.port, { maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2', 'TLS 1.2 is accepted');
});

t.test('loading an unusable pair fails with a message naming the file', async (t) => {
  const first = servingPair();
  const { dir, certFile, keyFile } = tlsDir(first);
  t.same(loadTlsPair(certFile, keyFile).cert.toString(), first.certPem);

  const missing = join(dir, 'missing.crt');
  t.throws(() => loadTlsPair(missing, keyFile), { name: 'TlsFilesError', message: `cannot read certificate file ${missing}` });
  const garbage = join(dir, 'garbage.crt');
  writeFileSync(garbage, 'not a certificate');
  t.throws(() => loadTlsPair(garbage, keyFile), { message: `certificate file ${garbage} does not hold a PEM certificate` });
  t.throws(() => loadTlsPair(certFile, garbage), { message: `key file ${garbage} does not hold an unencrypted PEM private key` });
  const otherKey = join(dir, 'other.key');
  writeFileSync(otherKey, ca.keyPem);
  t.throws(() => loadTlsPair(certFile, otherKey), { message: `key file ${otherKey} does not match the certificate in ${certFile}` });
  t.throws(
    () => watchTlsFiles({ certFile, keyFile: otherKey, onChange: () => {}, onError: () => {} }),
    /does not match/,
    'the watcher refuses to start on a bad pair',
  );
});
