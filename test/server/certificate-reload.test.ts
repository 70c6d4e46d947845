import t from 'tap';
import { connect } from 'node:tls';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../src/certs/authority.ts';
import { admissionReview, manifest } from '../helpers/fixtures.ts';
import { postJson } from '../helpers/https-client.ts';
import { startWebhookUnderTest } from '../helpers/webhook-under-test.ts';

function servedSerial(port: number, ca: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.once('error', reject);
  });
}

t.test('a certificate swapped on disk is served on the next connection, and admissions keep working', async (t) => {
  const webhook = await startWebhookUnderTest({ tlsPollIntervalMs: 50 });
  t.teardown(() => webhook.server.close());
  const before = await servedSerial(webhook.server.port, webhook.ca);

  // A new serving certificate from a new CA, written the way a Secret volume update lands: a rename.
  const ca = createCertificateAuthority({ commonName: 'rotated-ca', validityDays: 30 });
  const pair = issueCertificate(ca, { commonName: 'epp-webhook', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityDays: 10, usage: 'server' });
  writeFileSync(join(webhook.certDir, 'tls.key.new'), pair.keyPem);
  writeFileSync(join(webhook.certDir, 'tls.crt.new'), pair.certPem);
  renameSync(join(webhook.certDir, 'tls.key.new'), join(webhook.certDir, 'tls.key'));
  renameSync(join(webhook.certDir, 'tls.crt.new'), join(webhook.certDir, 'tls.crt'));

  let after = before;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    try {
      after = await servedSerial(webhook.server.port, ca.certPem);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  t.not(after, before, 'the new certificate is served');
  const { body } = await postJson(`${webhook.url}/mutate`, ca.certPem, admissionReview(manifest('guide-envoyfilter.yaml')));
  t.equal(body.response.allowed, true, 'clients trusting the new CA are answered');
  t.ok(readFileSync(join(webhook.certDir, 'tls.crt')).equals(Buffer.from(pair.certPem)));
});
