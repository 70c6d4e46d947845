import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { createCertificateAuthority, issueCertificate, type PemPair } from '../../../src/certs/authority.ts';
import { certificateFingerprint, joinPemCertificates } from '../../../src/certs/ca-bundle.ts';
import { planCertificates, type CurrentCertificates, type NextCertificates, type RotationPolicy } from '../../../src/certs/certificate-rotation.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const NAMES = ['hook', 'hook.gw', 'hook.gw.svc', 'hook.gw.svc.cluster.local'];
const policy: RotationPolicy = {
  renewBeforeMs: 30 * DAY,
  servingValidityDays: 90,
  caValidityDays: 1825,
  overlapMs: HOUR,
  commonName: 'hook.gw.svc',
  dnsNames: NAMES,
  ipAddresses: [],
};
const at = (offsetMs: number): Date => new Date(Date.now() + offsetMs);
const fingerprints = (pems: string[]): string[] => pems.map(certificateFingerprint);

/** The cluster after a run wrote `next` at `writtenAt`: what the following run reads. Four webhooks (deploy/ has five: the count does not matter here). */
function applied(next: NextCertificates, writtenAt: Date, previous?: CurrentCertificates): CurrentCertificates {
  return {
    ca: next.ca,
    serving: {
      ...next.serving,
      caPem: next.ca.certPem,
      issuedAt: next.servingChanged ? writtenAt : previous?.serving?.issuedAt,
      previousIssuers: next.servingChanged ? next.previousIssuers : previous?.serving?.previousIssuers,
    },
    caBundles: [0, 1, 2, 3].map(() => joinPemCertificates(next.bundle)),
  };
}

const empty: CurrentCertificates = { caBundles: ['', '', '', ''] };

t.test('first run: a CA, a serving certificate for the Service names, and a caBundle of that CA', async (t) => {
  const next = planCertificates(empty, policy, new Date());
  t.ok(next.caChanged);
  t.ok(next.servingChanged);
  t.ok(next.bundleChanged, 'the empty caBundles must be patched');
  t.same(fingerprints(next.bundle), fingerprints([next.ca.certPem]));
  const cert = new X509Certificate(next.serving.certPem);
  t.ok(cert.checkIssued(new X509Certificate(next.ca.certPem)));
  t.equal(cert.subjectAltName, NAMES.map((n) => `DNS:${n}`).join(', '));
  t.equal(Math.round((cert.validToDate.getTime() - Date.now()) / DAY), 90);
  t.equal(Math.round((new X509Certificate(next.ca.certPem).validToDate.getTime() - Date.now()) / DAY), 1825);
  t.notMatch(next.bundle[0], /\r/, 'bundle PEM normalized to LF');
});

t.test('a rerun with valid certificates changes nothing: idempotent', async (t) => {
  const first = planCertificates(empty, policy, new Date());
  const state = applied(first, new Date());
  const again = planCertificates(state, policy, at(2 * HOUR));
  t.notOk(again.caChanged);
  t.notOk(again.servingChanged);
  t.notOk(again.bundleChanged);
  t.equal(again.serving.certPem, first.serving.certPem);
  t.same(again.keptReasons, []);
});

t.test('a missing or wrong caBundle is re-patched, whatever else holds', async (t) => {
  const state = applied(planCertificates(empty, policy, new Date()), at(-2 * HOUR));
  const unrelated = createCertificateAuthority({ commonName: 'someone else', validityDays: 10 });
  const wrong = planCertificates({ ...state, caBundles: [state.caBundles[0], '', unrelated.certPem] }, policy, new Date());
  t.ok(wrong.bundleChanged);
  t.notOk(wrong.caChanged);
  t.notOk(wrong.servingChanged);
  t.same(fingerprints(wrong.bundle), fingerprints([state.ca!.certPem]), 'outside the overlap window: the unrelated CA is not kept');
  const repeated = planCertificates({ ...state, caBundles: state.caBundles.map((b) => b + b) }, policy, new Date());
  t.ok(repeated.bundleChanged, 'a bundle with the CA twice is rewritten clean');
});

t.test('a serving certificate inside renew-before is reissued by the same CA; caBundle unchanged', async (t) => {
  const state = applied(planCertificates(empty, { ...policy, servingValidityDays: 10 }, new Date()), at(-2 * HOUR));
  const next = planCertificates(state, policy, new Date());
  t.notOk(next.caChanged);
  t.ok(next.servingChanged);
  t.match(next.servingReason, /expires .* within renew-before \(30d\)/);
  t.notOk(next.bundleChanged);
  t.same(fingerprints(next.bundle), fingerprints([state.ca!.certPem]), 'same CA: nothing else to trust');
});

t.test('CA rotation: new CA + old CA in caBundle, old one dropped only a full overlap after the Secret changed', async (t) => {
  const t0 = new Date();
  const initial = applied(planCertificates(empty, policy, t0), t0);
  const oldCa = initial.ca!.certPem;

  // The CA is within renew-before: a new CA, a new serving certificate, and the old CA stays trusted.
  const rotated = planCertificates(initial, { ...policy, renewBeforeMs: 100_000 * DAY }, at(2 * HOUR));
  t.ok(rotated.caChanged);
  t.match(rotated.caReason, /the CA expires .* within 100000d/);
  t.ok(rotated.servingChanged);
  t.match(rotated.servingReason, /not signed by the current CA/);
  t.same(fingerprints(rotated.bundle), fingerprints([rotated.ca.certPem, oldCa]), 'new CA first, then the old one');
  t.match(rotated.keptReasons[0], /signed the serving certificate the pods present until they reload/);
  t.ok(new X509Certificate(rotated.serving.certPem).checkIssued(new X509Certificate(rotated.ca.certPem)));

  // A run a minute after the Secret changed: pods may still present the old certificate; keep both.
  const writtenAt = at(2 * HOUR);
  const afterRotation = applied(rotated, writtenAt);
  const soon = planCertificates(afterRotation, policy, new Date(writtenAt.getTime() + 60_000));
  t.notOk(soon.caChanged);
  t.notOk(soon.servingChanged);
  t.notOk(soon.bundleChanged, 'inside the overlap: nothing to patch');
  t.same(fingerprints(soon.bundle), fingerprints([rotated.ca.certPem, oldCa]));
  t.match(soon.keptReasons[0], /pods may present the previous certificate until they reload/);

  // A run after the overlap: the old CA signs nothing any pod presents; drop it.
  const later = planCertificates(afterRotation, policy, new Date(writtenAt.getTime() + 2 * HOUR));
  t.ok(later.bundleChanged);
  t.same(fingerprints(later.bundle), fingerprints([rotated.ca.certPem]));
  t.notOk(later.servingChanged);
});

t.test('inside the overlap only the CA of the replaced certificate is kept, not whatever else caBundle holds', async (t) => {
  const t0 = new Date();
  const first = applied(planCertificates(empty, policy, t0), t0);
  const rotated = planCertificates(first, { ...policy, renewBeforeMs: 100_000 * DAY }, new Date(t0.getTime() + 2 * HOUR));
  t.same(rotated.previousIssuers, [certificateFingerprint(first.ca!.certPem)], 'recorded with the new Secret');
  const writtenAt = new Date(t0.getTime() + 2 * HOUR);
  const state = applied(rotated, writtenAt);
  const stranger = createCertificateAuthority({ commonName: 'someone else', validityDays: 10 });
  const tampered: CurrentCertificates = { ...state, caBundles: [joinPemCertificates([...rotated.bundle, stranger.certPem]), ...state.caBundles.slice(1)] };
  const next = planCertificates(tampered, policy, new Date(writtenAt.getTime() + 60_000));
  t.same(fingerprints(next.bundle), fingerprints([rotated.ca.certPem, first.ca!.certPem]), 'the stranger goes, the replaced certificate\'s CA stays');
  t.ok(next.bundleChanged);

  // A Secret written by something else (no record of the replaced issuer): inside the overlap keep all trusted CAs.
  const unrecorded = planCertificates({ ...tampered, serving: { ...tampered.serving!, previousIssuers: undefined } }, policy, new Date(writtenAt.getTime() + 60_000));
  t.same(fingerprints(unrecorded.bundle), fingerprints([rotated.ca.certPem, first.ca!.certPem, stranger.certPem]));

  // A same-CA renewal records the current CA, which is never "kept" twice.
  const renewed = planCertificates(state, { ...policy, renewBeforeMs: 100 * DAY, servingValidityDays: 1 }, new Date(writtenAt.getTime() + 2 * HOUR));
  t.notOk(renewed.caChanged);
  t.same(renewed.previousIssuers, [certificateFingerprint(rotated.ca.certPem)]);
  t.same(fingerprints(renewed.bundle), fingerprints([rotated.ca.certPem]));
});

t.test('two rotations inside one overlap keep all three CAs', async (t) => {
  const t0 = new Date();
  const first = applied(planCertificates(empty, policy, t0), t0);
  const force = { ...policy, renewBeforeMs: 100_000 * DAY };
  const second = planCertificates(first, force, new Date(t0.getTime() + 2 * HOUR));
  const secondState = applied(second, new Date(t0.getTime() + 2 * HOUR));
  const third = planCertificates(secondState, force, new Date(t0.getTime() + 2 * HOUR + 60_000));
  t.same(fingerprints(third.bundle), fingerprints([third.ca.certPem, second.ca.certPem, first.ca!.certPem]), 'the pods may present the first or the second certificate');
});

t.test('an expired CA never stays in the bundle, even inside the overlap', async (t) => {
  const shortLived = createCertificateAuthority({ commonName: 'short', validityDays: 2 });
  const current = planCertificates(empty, policy, new Date());
  const written = applied(current, at(3 * DAY - 60_000));
  const state: CurrentCertificates = {
    ...written,
    // As if the short-lived CA had signed the certificate this one replaced a minute ago.
    serving: { ...written.serving!, previousIssuers: [certificateFingerprint(shortLived.certPem)] },
    caBundles: [joinPemCertificates([current.ca.certPem, shortLived.certPem])],
  };
  const next = planCertificates(state, policy, at(3 * DAY));
  t.same(fingerprints(next.bundle), fingerprints([current.ca.certPem]));
});

t.test('the CA Secret lost: a new CA, and the CA of the certificate still presented stays trusted', async (t) => {
  const initial = applied(planCertificates(empty, policy, new Date()), at(-2 * HOUR));
  const next = planCertificates({ ...initial, ca: undefined }, policy, new Date());
  t.ok(next.caChanged);
  t.equal(next.caReason, 'no CA yet');
  t.ok(next.servingChanged);
  t.same(fingerprints(next.bundle), fingerprints([next.ca.certPem, initial.ca!.certPem]), 'found through the serving Secret ca.crt');
});

t.test('the CA must outlive a new serving certificate: a CA with less left than that is replaced', async (t) => {
  const ca = createCertificateAuthority({ commonName: 'old', validityDays: 60 });
  const next = planCertificates({ ca, caBundles: [ca.certPem] }, policy, new Date());
  t.ok(next.caChanged, '60 days left < 90-day serving certificate');
  t.match(next.caReason, /within 90d/);
});

t.test('other names, a key that does not match, or garbage: reissue', async (t) => {
  const state = applied(planCertificates(empty, policy, new Date()), at(-2 * HOUR));
  const renamed = planCertificates(state, { ...policy, dnsNames: [...NAMES, 'extra.example.com'], ipAddresses: ['127.0.0.1', '::1'] }, new Date());
  t.ok(renamed.servingChanged);
  t.match(renamed.servingReason, /names .* are not the wanted ones/);
  t.match(new X509Certificate(renamed.serving.certPem).subjectAltName!, /DNS:extra\.example\.com.*IP Address:127\.0\.0\.1/);
  const again = planCertificates(applied(renamed, at(-2 * HOUR)), { ...policy, dnsNames: [...NAMES, 'extra.example.com'], ipAddresses: ['127.0.0.1', '::1'] }, new Date());
  t.notOk(again.servingChanged, 'IPv6 SANs compare as written (::1)');

  const otherKey: PemPair = issueCertificate(state.ca!, { commonName: 'x', dnsNames: NAMES, validityDays: 90, usage: 'server' });
  const mismatched = planCertificates({ ...state, serving: { ...state.serving!, keyPem: otherKey.keyPem } }, policy, new Date());
  t.ok(mismatched.servingChanged);
  t.match(mismatched.servingReason, /key does not match/);

  const garbage = planCertificates({ ...state, ca: { certPem: 'nope', keyPem: 'nope' } }, policy, new Date());
  t.ok(garbage.caChanged);
  t.match(garbage.caReason, /does not parse/);
});
