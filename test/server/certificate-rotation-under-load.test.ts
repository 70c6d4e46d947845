/**
 * The serving certificate and key replaced on disk while admissions keep coming, on keep-alive connections
 * (as the apiserver keeps them) and on a new TLS connection per request: zero failed requests.
 * Rotations are written three ways: atomically (a Secret volume's rename), the certificate before the key (a
 * pair that does not match for a moment), and a certificate file written in two halves (a partial PEM).
 */
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { issueCertificate } from '../../src/certs/authority.ts';
import { writeServingBundle } from '../../src/certs/serving-bundle.ts';
import { admissionReview, manifest } from '../helpers/fixtures.ts';
import { startWebhookUnderTest } from '../helpers/webhook-under-test.ts';
import { requestLoops } from './load-clients.ts';

const UID = 'rotation-under-load';
const ROTATIONS = Number(process.env.EPP_ROTATIONS ?? 9);

function servedFingerprint(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve(socket.getPeerX509Certificate()!.fingerprint256);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

t.test(`the serving pair replaced ${ROTATIONS} times under load: no request fails`, async (t) => {
  const webhook = await startWebhookUnderTest({ tlsPollIntervalMs: 50 });
  t.teardown(() => webhook.server.close());
  const ca = webhook.ca;
  const caPair = { certPem: ca.toString(), keyPem: readFileSync(join(webhook.certDir, 'ca.key'), 'utf8') };
  const body = JSON.stringify(admissionReview(manifest('guide-envoyfilter.yaml'), 'CREATE', UID));
  const url = `${webhook.url}/mutate`;
  const keepAlive = requestLoops({ url, ca, body, uid: UID, clients: 3, keepAlive: true });
  const fresh = requestLoops({ url, ca, body, uid: UID, clients: 2, keepAlive: false });

  const fingerprints = new Set<string>([await servedFingerprint(webhook.server.port, ca)]);
  const newPair = () =>
    issueCertificate(caPair, { commonName: 'epp-webhook.epp-webhook.svc', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityDays: 1, usage: 'server' });
  const certFile = join(webhook.certDir, 'tls.crt');
  const keyFile = join(webhook.certDir, 'tls.key');
  for (let i = 0; i < ROTATIONS; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const way = i % 3;
    if (way === 0) {
      writeServingBundle(webhook.certDir, { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
    } else if (way === 1) {
      const pair = newPair();
      writeFileSync(certFile, pair.certPem);
      await new Promise((r) => setTimeout(r, 120));
      writeFileSync(keyFile, pair.keyPem);
    } else {
      const pair = newPair();
      writeFileSync(keyFile, pair.keyPem);
      writeFileSync(certFile, pair.certPem.slice(0, pair.certPem.length / 2));
      await new Promise((r) => setTimeout(r, 120));
      writeFileSync(certFile, pair.certPem);
    }
    await new Promise((r) => setTimeout(r, 200));
    fingerprints.add(await servedFingerprint(webhook.server.port, ca));
  }
  await new Promise((r) => setTimeout(r, 300));
  const tallies = [await keepAlive.stop(), await fresh.stop()];
  const ok = tallies.reduce((n, x) => n + x.ok, 0);
  const bad = tallies.flatMap((x) => x.bad);
  const errors = tallies.flatMap((x) => x.errors);
  t.ok(ok > 100, `${ok} admissions answered during the rotations`);
  t.same(bad, [], 'no error answers');
  t.same(errors, [], 'no connection or handshake failures');
  t.equal(fingerprints.size, ROTATIONS + 1, `each of the ${ROTATIONS} rotations was served (${fingerprints.size} distinct certificates seen)`);
  const last = readFileSync(certFile);
  t.equal(await servedFingerprint(webhook.server.port, ca), new X509Certificate(last).fingerprint256, 'the last certificate written is the one served');
  t.comment(`certificate rotation under load: ${ok} requests, ${ROTATIONS} rotations, ${bad.length + errors.length} failed`);
});
