import t from 'tap';
import { createCertificateAuthority } from '../../../src/certs/authority.ts';
import { certificateFingerprint, distinctCertificates, joinPemCertificates, sameCertificates, splitPemCertificates } from '../../../src/certs/ca-bundle.ts';

const a = createCertificateAuthority({ commonName: 'a', validityDays: 1 });
const b = createCertificateAuthority({ commonName: 'b', validityDays: 1 });

t.test('a bundle splits into its certificates, in order, CRLF or LF, ignoring text around them', async (t) => {
  t.match(a.certPem, /\r\n/, 'node-forge writes CRLF');
  const bundle = `# comment\n${a.certPem}\n\n${b.certPem.replaceAll('\r\n', '\n')}trailing`;
  const certificates = splitPemCertificates(bundle);
  t.equal(certificates.length, 2);
  t.same(certificates.map(certificateFingerprint), [certificateFingerprint(a.certPem), certificateFingerprint(b.certPem)]);
  for (const pem of certificates) {
    t.notMatch(pem, /\r/);
    t.match(pem, /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
  }
  t.same(splitPemCertificates(''), []);
  t.same(splitPemCertificates('not a certificate'), []);
});

t.test('join, then split, is the identity; sameCertificates compares by fingerprint and order', async (t) => {
  const list = splitPemCertificates(a.certPem + b.certPem);
  t.same(splitPemCertificates(joinPemCertificates(list)), list);
  t.ok(sameCertificates([a.certPem, b.certPem], list), 'CRLF and LF copies are the same certificates');
  t.notOk(sameCertificates([b.certPem, a.certPem], list), 'order matters (the current CA first)');
  t.notOk(sameCertificates([a.certPem], list));
  t.notOk(sameCertificates(['garbage'], ['garbage']), 'unparsable never compares equal');
});

t.test('distinctCertificates drops repeats and unparsable blocks', async (t) => {
  const broken = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
  const distinct = distinctCertificates([a.certPem, broken, ...splitPemCertificates(a.certPem), b.certPem]);
  t.same(distinct.map(certificateFingerprint), [certificateFingerprint(a.certPem), certificateFingerprint(b.certPem)]);
});
