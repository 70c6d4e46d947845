import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createCertificateAuthority, issueCertificate, type PemPair } from './authority.ts';
import { certificateFingerprint, distinctCertificates, sameCertificates, splitPemCertificates } from './ca-bundle.ts';

/**
 * Decides what the webhook's certificates should be next, from what the cluster holds now: pure but for key
 * generation, so the same decisions drive `bootstrap-certs` and its tests.
 *
 * The invariant it keeps: the caBundle trusts the CA of every serving certificate a webhook pod may be presenting.
 * A pod presents the certificate of the Secret it last reloaded, which lags a Secret update by up to a minute or two
 * (kubelet's sync period, then the server's file poll). So a new CA goes into the caBundle together with the old one
 * *before* the Secret changes (the caller writes in that order), and the old CA leaves the caBundle only once the
 * Secret's certificate is no longer signed by it and was written at least `overlapMs` ago.
 */

export interface ServingMaterial {
  certPem: string;
  keyPem: string;
  /** The Secret's ca.crt, the CA that signed certPem when this code wrote it. */
  caPem?: string;
  /** When the Secret's certificate was written (annotation); absent: the certificate's notBefore. */
  issuedAt?: Date;
  /**
   * SHA-256 fingerprints of the CA(s) that signed the certificate this one replaced (annotation): what pods may still
   * present during the overlap. Absent (a Secret written by something else): every CA the caBundle trusts is kept.
   */
  previousIssuers?: string[];
}

export interface CurrentCertificates {
  /** The CA Secret's ca.crt and ca.key; absent when the Secret is. */
  ca?: PemPair;
  /** The serving Secret's tls.crt, tls.key (and ca.crt); absent when the Secret is. */
  serving?: ServingMaterial;
  /** Each webhook's caBundle as PEM ('' when unset), across both configurations. */
  caBundles: string[];
}

export interface RotationPolicy {
  /** Renew a certificate (serving or CA) that expires within this long. */
  renewBeforeMs: number;
  servingValidityDays: number;
  caValidityDays: number;
  /** How long after a Secret update CAs of the previous certificate stay trusted (pods reload within ~2 min). */
  overlapMs: number;
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
}

export interface NextCertificates {
  ca: PemPair;
  /** A new CA was created (the CA Secret must be written). */
  caChanged: boolean;
  caReason: string;
  serving: PemPair;
  /** A new serving certificate was issued (the serving Secret must be written, after the caBundle). */
  servingChanged: boolean;
  servingReason: string;
  /** The caBundle every webhook should carry: the CA first, then CAs kept for the overlap. */
  bundle: string[];
  /** Some webhook's caBundle differs from `bundle` (missing, stale, or with repeats). */
  bundleChanged: boolean;
  /** Why each CA besides the current one stays in the bundle. */
  keptReasons: string[];
  /** To record with the serving Secret: the CA(s) that signed the certificate it replaces (see ServingMaterial). */
  previousIssuers: string[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function planCertificates(current: CurrentCertificates, policy: RotationPolicy, now: Date): NextCertificates {
  // The CA must outlive renewBefore and any serving certificate it signs from now on.
  const caHorizonMs = Math.max(policy.renewBeforeMs, policy.servingValidityDays * DAY_MS);
  const caProblem = current.ca === undefined ? 'no CA yet' : caUnusable(current.ca, now, caHorizonMs);
  const ca = caProblem === undefined ? current.ca! : createCertificateAuthority({ commonName: 'epp-webhook CA', validityDays: policy.caValidityDays });
  const caChanged = caProblem !== undefined;

  const servingProblem = current.serving === undefined ? 'no serving certificate yet' : servingUnusable(current.serving, ca, policy, now);
  const servingChanged = servingProblem !== undefined;
  const serving = servingChanged
    ? issueCertificate(ca, {
        commonName: policy.commonName,
        dnsNames: policy.dnsNames,
        ipAddresses: policy.ipAddresses,
        validityDays: policy.servingValidityDays,
        usage: 'server',
      })
    : { certPem: current.serving!.certPem, keyPem: current.serving!.keyPem };

  const keptReasons: string[] = [];
  const kept: string[] = [];
  const candidates = distinctCertificates([
    ...current.caBundles.flatMap(splitPemCertificates),
    ...(current.serving?.caPem ? splitPemCertificates(current.serving.caPem) : []),
    ...(current.ca ? splitPemCertificates(current.ca.certPem) : []),
  ]).filter((pem) => !sameCertificate(pem, ca.certPem) && unexpired(pem, now));

  // 1. The certificate in the Secret now is what pods present until they reload the new one.
  const presented = current.serving !== undefined && unexpired(current.serving.certPem, now) ? current.serving.certPem : undefined;
  let previousIssuers = current.serving?.previousIssuers ?? [];
  if (servingChanged) {
    previousIssuers = presented === undefined ? [] : [ca.certPem, ...candidates].filter((pem) => signedBy(presented, pem)).map(certificateFingerprint);
    for (const pem of candidates) {
      if (previousIssuers.includes(certificateFingerprint(pem))) {
        kept.push(pem);
        keptReasons.push(`${describe(pem)}: signed the serving certificate the pods present until they reload the new one`);
      }
    }
  }
  // 2. Written recently: pods may still present the certificate it replaced, whose CA the caBundle trusted then.
  const issuedAt = current.serving ? (current.serving.issuedAt ?? notBefore(current.serving.certPem)) : undefined;
  if (issuedAt !== undefined && now.getTime() - issuedAt.getTime() < policy.overlapMs) {
    const trusted = distinctCertificates(current.caBundles.flatMap(splitPemCertificates));
    const recorded = current.serving?.previousIssuers;
    for (const pem of candidates) {
      if (kept.some((k) => sameCertificate(k, pem))) continue;
      if (recorded !== undefined ? !recorded.includes(certificateFingerprint(pem)) : !trusted.some((t) => sameCertificate(t, pem))) continue;
      kept.push(pem);
      const until = new Date(issuedAt.getTime() + policy.overlapMs).toISOString();
      keptReasons.push(`${describe(pem)}: the Secret changed at ${issuedAt.toISOString()}; pods may present the previous certificate until they reload (kept until a run after ${until})`);
    }
  }

  // Normalized PEM (node-forge writes CRLF line ends): the bundle compares and reads the same however it was written.
  const bundle = [...splitPemCertificates(ca.certPem), ...kept];
  // Repeats or an unparsable block make a bundle differ too: it is rewritten clean.
  const bundleChanged = current.caBundles.some((pem) => !sameCertificates(splitPemCertificates(pem), bundle));
  return {
    ca,
    caChanged,
    caReason: caProblem ?? `valid until ${notAfter(ca.certPem).toISOString()}`,
    serving,
    servingChanged,
    servingReason: servingProblem ?? `valid until ${notAfter(serving.certPem).toISOString()}`,
    bundle,
    bundleChanged,
    keptReasons,
    previousIssuers,
  };
}

/** Why the CA cannot sign for the coming period, or undefined when it can. */
function caUnusable(ca: PemPair, now: Date, horizonMs: number): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(ca.certPem);
  } catch (error) {
    return `the CA certificate does not parse (${(error as Error).message})`;
  }
  if (!cert.ca) return 'the CA certificate is not a CA (basicConstraints)';
  try {
    if (!cert.checkPrivateKey(createPrivateKey(ca.keyPem))) return 'the CA key does not match the CA certificate';
  } catch (error) {
    return `the CA key does not parse (${(error as Error).message})`;
  }
  if (cert.validToDate.getTime() - now.getTime() <= horizonMs) {
    return `the CA expires ${cert.validToDate.toISOString()}, within ${formatDuration(horizonMs)} (renew-before, or the serving certificate's lifetime)`;
  }
  return undefined;
}

/** Why the serving certificate must be reissued, or undefined when it may stay. */
function servingUnusable(serving: ServingMaterial, ca: PemPair, policy: RotationPolicy, now: Date): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(serving.certPem);
  } catch (error) {
    return `the serving certificate does not parse (${(error as Error).message})`;
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(serving.keyPem))) return 'the serving key does not match the serving certificate';
  } catch (error) {
    return `the serving key does not parse (${(error as Error).message})`;
  }
  if (!signedBy(serving.certPem, ca.certPem)) return 'the serving certificate is not signed by the current CA';
  if (cert.validFromDate.getTime() > now.getTime()) return `the serving certificate is not valid before ${cert.validFromDate.toISOString()}`;
  if (cert.validToDate.getTime() - now.getTime() <= policy.renewBeforeMs) {
    return `the serving certificate expires ${cert.validToDate.toISOString()}, within renew-before (${formatDuration(policy.renewBeforeMs)})`;
  }
  const want = [...policy.dnsNames.map((n) => `DNS:${n}`), ...policy.ipAddresses.map((ip) => `IP Address:${ip}`)].sort();
  const have = subjectAltNames(cert).sort();
  if (want.join(',') !== have.join(',')) return `the serving certificate's names (${have.join(', ')}) are not the wanted ones (${want.join(', ')})`;
  return undefined;
}

function subjectAltNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((entry) => entry !== '')
    .map((entry) => entry.replace(/^IP Address:(.*)$/, (_, ip: string) => `IP Address:${normalizeIp(ip)}`));
}

// Node prints IPv6 SANs expanded and upper-case (0:0:0:0:0:0:0:1); compare the way the policy's addresses are written.
function normalizeIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase();
  }
}

function signedBy(certPem: string, caPem: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

function sameCertificate(a: string, b: string): boolean {
  try {
    return certificateFingerprint(a) === certificateFingerprint(b);
  } catch {
    return false;
  }
}

function unexpired(pem: string, now: Date): boolean {
  try {
    return new X509Certificate(pem).validToDate.getTime() > now.getTime();
  } catch {
    return false;
  }
}

function notAfter(pem: string): Date {
  return new X509Certificate(pem).validToDate;
}

function notBefore(pem: string): Date | undefined {
  try {
    return new X509Certificate(pem).validFromDate;
  } catch {
    return undefined;
  }
}

export function describe(certPem: string): string {
  const cert = new X509Certificate(certPem);
  return `CA ${cert.subject.replace(/\n/g, ', ')} (SHA-256 ${cert.fingerprint256.slice(0, 23)}..., expires ${cert.validToDate.toISOString()})`;
}

export function formatDuration(ms: number): string {
  if (ms % DAY_MS === 0) return `${ms / DAY_MS}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}
