import t from 'tap';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { certificateExpiry, createCertificateAuthority, issueCertificate, shouldRotate } from '../../../src/certs/authority.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

const before = Date.now();
const ca = createCertificateAuthority({ commonName: 'test CA', validityDays: 1825 });
const caCert = new X509Certificate(ca.certPem);

t.test('the CA is self-signed, a CA, and dated with a clock-skew margin', async (t) => {
  t.equal(caCert.subject, 'CN=test CA');
  t.equal(caCert.issuer, 'CN=test CA');
  t.ok(caCert.ca, 'basicConstraints CA:true');
  t.ok(caCert.verify(caCert.publicKey), 'self-signed');
  t.ok(caCert.checkIssued(caCert));
  t.equal(caCert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  const backdate = before - caCert.validFromDate.getTime();
  t.ok(backdate >= 4 * 60 * 1000 && backdate <= 6 * 60 * 1000, `notBefore backdated about 5 minutes (${backdate} ms)`);
  const lifetime = caCert.validToDate.getTime() - before;
  t.ok(Math.abs(lifetime - 1825 * DAY_MS) < 60 * 1000, 'notAfter 1825 days out');
  t.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----/);
});

t.test('serial numbers are random, 128-bit and positive', async (t) => {
  const serials = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const cert = new X509Certificate(issueCertificate(ca, { commonName: `c${i}`, validityDays: 1, usage: 'client' }).certPem);
    t.equal(cert.serialNumber.length, 32, 'sixteen bytes, none of them a padding zero');
    t.ok(Number.parseInt(cert.serialNumber.slice(0, 2), 16) < 0x80, 'top bit clear: positive');
    serials.add(cert.serialNumber);
  }
  serials.add(caCert.serialNumber);
  t.equal(serials.size, 4);
});

t.test('a server certificate verifies against the CA and carries its names', async (t) => {
  const issued = issueCertificate(ca, {
    commonName: 'epp-webhook.epp-webhook.svc',
    dnsNames: ['epp-webhook.epp-webhook.svc', 'localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
    validityDays: 365,
    usage: 'server',
  });
  const cert = new X509Certificate(issued.certPem);
  t.ok(cert.checkIssued(caCert), 'issuer matches the CA subject');
  t.ok(cert.verify(caCert.publicKey), 'signed by the CA key');
  t.notOk(cert.ca, 'not a CA');
  t.equal(cert.subject, 'CN=epp-webhook.epp-webhook.svc');
  t.match(cert.subjectAltName, /DNS:localhost/);
  t.match(cert.subjectAltName, /DNS:epp-webhook\.epp-webhook\.svc/);
  t.match(cert.subjectAltName, /IP Address:127\.0\.0\.1/);
  t.match(cert.subjectAltName, /IP Address:0:0:0:0:0:0:0:1/);
  t.same(cert.keyUsage, [SERVER_AUTH], 'extKeyUsage serverAuth only');
  t.ok(cert.checkHost('localhost'));
  t.ok(cert.checkIP('127.0.0.1'));
  t.ok(cert.checkPrivateKey(createPrivateKey(issued.keyPem)), 'the key belongs to the certificate');
  t.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  t.equal(certificateExpiry(issued.certPem).getTime(), cert.validToDate.getTime());
  t.ok(Math.abs(cert.validToDate.getTime() - before - 365 * DAY_MS) < 60 * 1000, 'notAfter 365 days out');
  t.equal(cert.checkIssued(new X509Certificate(createCertificateAuthority({ commonName: 'other', validityDays: 1 }).certPem)), false);
});

t.test('client certificates carry clientAuth and the groups as O', async (t) => {
  const admin = new X509Certificate(
    issueCertificate(ca, { commonName: 'e2e-admin', organizations: ['system:masters'], validityDays: 1, usage: 'client' }).certPem,
  );
  t.same(admin.keyUsage, [CLIENT_AUTH]);
  t.equal(admin.subject, 'O=system:masters\nCN=e2e-admin');
  t.ok(admin.verify(caCert.publicKey));
  t.equal(admin.subjectAltName, undefined, 'no SAN extension when there are no names');

  const serviceAccount = new X509Certificate(
    issueCertificate(ca, { commonName: 'system:serviceaccount:epp:webhook', validityDays: 1, usage: 'client' }).certPem,
  );
  t.equal(serviceAccount.subject, 'CN=system:serviceaccount:epp:webhook');
});

t.test('names outside PrintableString survive and still chain', async (t) => {
  const odd = createCertificateAuthority({ commonName: 'ca_with@odd chars é', validityDays: 1 });
  const oddCa = new X509Certificate(odd.certPem);
  t.equal(oddCa.subject, 'CN=ca_with@odd chars é');
  const leaf = new X509Certificate(issueCertificate(odd, { commonName: 'leaf_1', validityDays: 1, usage: 'server' }).certPem);
  t.ok(leaf.checkIssued(oddCa), 'issuer bytes equal the CA subject bytes');
  t.ok(leaf.verify(oddCa.publicKey));
});

t.test('bad requests are refused', async (t) => {
  t.throws(() => createCertificateAuthority({ commonName: 'x', validityDays: 0 }), RangeError);
  t.throws(() => issueCertificate(ca, { commonName: 'x', validityDays: 1.5, usage: 'server' }), /validityDays/);
  t.throws(() => issueCertificate(ca, { commonName: 'x', ipAddresses: ['localhost'], validityDays: 1, usage: 'server' }), /not an IP address/);
  t.throws(() => issueCertificate({ certPem: ca.certPem, keyPem: 'nope' }, { commonName: 'x', validityDays: 1, usage: 'server' }), /CA key/);
  const ecKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  t.throws(() => issueCertificate({ certPem: ca.certPem, keyPem: ecKeyPem }, { commonName: 'x', validityDays: 1, usage: 'server' }), /must be an RSA key/);
});

t.test('shouldRotate compares the expiry with now plus the renewal window', async (t) => {
  const expiry = caCert.validToDate.getTime();
  t.equal(shouldRotate(ca.certPem, new Date(), 30), false);
  t.equal(shouldRotate(ca.certPem, new Date(expiry - 31 * DAY_MS), 30), false);
  t.equal(shouldRotate(ca.certPem, new Date(expiry - 29 * DAY_MS), 30), true);
  t.equal(shouldRotate(ca.certPem, new Date(expiry + 1000), 0), true, 'expired');
});

