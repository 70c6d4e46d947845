import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../../src/certs/authority.ts';
import { ensureDevCertificates, servingDnsNames, writeServingBundle } from '../../../src/certs/serving-bundle.ts';
import { scratchDir } from '../../helpers/scratch-dir.ts';

const tempDir = (): string => scratchDir('epp-bundle-');

t.test('the serving names cover every way the Service is addressed, once each', async (t) => {
  t.same(servingDnsNames('hook', 'gw', ['localhost', 'extra.example.com']), [
    'hook',
    'hook.gw',
    'hook.gw.svc',
    'hook.gw.svc.cluster.local',
    'localhost',
    'extra.example.com',
  ]);
});

t.test('writeServingBundle writes the four files and leaves no temporaries', async (t) => {
  const dir = tempDir();
  const bundle = writeServingBundle(dir, { serviceName: 'hook', namespace: 'gw' });
  t.same(readdirSync(dir).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
  t.equal(statSync(bundle.keyFile).mode & 0o777, 0o600);
  t.equal(statSync(bundle.caKeyFile).mode & 0o777, 0o600);
  t.ok(bundle.caCreated);
  const ca = new X509Certificate(readFileSync(bundle.caCertFile));
  const cert = new X509Certificate(readFileSync(bundle.certFile));
  t.ok(cert.checkIssued(ca));
  t.same(bundle.notAfter, cert.validToDate);
  const days = (day: Date): number => Math.round((day.getTime() - Date.now()) / 86_400_000);
  t.equal(days(cert.validToDate), 365, 'serving certificate: 1 year');
  t.equal(days(ca.validToDate), 1825, 'CA: 5 years');
  t.same(bundle.ipAddresses, ['127.0.0.1', '::1']);
});

t.test('a CA that would expire before the new certificate is replaced', async (t) => {
  const dir = tempDir();
  const shortCa = createCertificateAuthority({ commonName: 'short', validityDays: 10 });
  writeFileSync(join(dir, 'ca.crt'), shortCa.certPem);
  writeFileSync(join(dir, 'ca.key'), shortCa.keyPem, { mode: 0o600 });
  const bundle = writeServingBundle(dir, { serviceName: 'hook', namespace: 'gw', validityDays: 30 });
  t.ok(bundle.caCreated);
  t.not(readFileSync(bundle.caCertFile, 'utf8'), shortCa.certPem);

  const kept = writeServingBundle(dir, { serviceName: 'hook', namespace: 'gw', validityDays: 30 });
  t.notOk(kept.caCreated, 'the new long-lived CA is then reused');
});

t.test('a CA whose key does not match is not reused', async (t) => {
  const dir = tempDir();
  const one = createCertificateAuthority({ commonName: 'one', validityDays: 100 });
  const two = createCertificateAuthority({ commonName: 'two', validityDays: 100 });
  writeFileSync(join(dir, 'ca.crt'), one.certPem);
  writeFileSync(join(dir, 'ca.key'), two.keyPem, { mode: 0o600 });
  t.ok(writeServingBundle(dir, { serviceName: 'hook', namespace: 'gw', validityDays: 1 }).caCreated);
});

t.test('ensureDevCertificates keeps a valid bundle and replaces one about to expire', async (t) => {
  const dir = tempDir();
  const first = ensureDevCertificates(dir);
  t.ok(first.issued);
  const cert = readFileSync(first.certFile, 'utf8');
  t.ok(new X509Certificate(cert).checkHost('epp-webhook.epp-webhook.svc'));

  const second = ensureDevCertificates(dir);
  t.notOk(second.issued, 'valid files are reused');
  t.equal(readFileSync(second.certFile, 'utf8'), cert);

  const ca = { certPem: readFileSync(first.caCertFile, 'utf8'), keyPem: readFileSync(first.caKeyFile, 'utf8') };
  const expiring = issueCertificate(ca, { commonName: 'x', dnsNames: ['localhost', 'webhook.example'], ipAddresses: ['10.0.0.1'], validityDays: 29, usage: 'server' });
  writeFileSync(first.certFile, expiring.certPem);
  writeFileSync(first.keyFile, expiring.keyPem);
  const third = ensureDevCertificates(dir);
  t.ok(third.issued, 'a certificate expiring within 30 days is replaced');
  t.equal(readFileSync(third.caCertFile, 'utf8'), ca.certPem, 'by one from the same CA');
  const renewed = new X509Certificate(readFileSync(third.certFile));
  t.ok(renewed.checkHost('webhook.example') && renewed.checkIP('10.0.0.1'), 'which keeps the names the old one was issued for (certs --dns, --ip)');
  t.ok(renewed.checkHost('epp-webhook.epp-webhook.svc'), 'beside the default ones');

  writeFileSync(third.keyFile, expiring.keyPem);
  t.ok(ensureDevCertificates(dir).issued, 'a key that does not match its certificate is replaced');

  writeFileSync(third.certFile, 'garbage');
  t.ok(ensureDevCertificates(dir).issued, 'an unreadable certificate is replaced');
});
