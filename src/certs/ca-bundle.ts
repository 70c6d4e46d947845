import { X509Certificate } from 'node:crypto';

/**
 * A webhook configuration's `caBundle`: PEM certificates concatenated. During a CA rotation it holds the new CA and
 * the old one, so the API server trusts the serving certificate a pod has loaded, whichever of the two signed it.
 */

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/g;

/** The PEM certificates in a bundle, in order, each normalized to end with one newline; anything else is ignored. */
export function splitPemCertificates(bundle: string): string[] {
  return [...bundle.matchAll(PEM_CERTIFICATE)].map((match) => `${match[0].replaceAll('\r\n', '\n')}\n`);
}

export function joinPemCertificates(certificates: string[]): string {
  return certificates.map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join('');
}

/** SHA-256 of the DER certificate, as `openssl x509 -fingerprint -sha256` prints it (AA:BB:...). */
export function certificateFingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** The certificates of the bundle that parse, without repeats (first occurrence kept). */
export function distinctCertificates(certificates: string[]): string[] {
  const seen = new Set<string>();
  const distinct: string[] = [];
  for (const pem of certificates) {
    let fingerprint: string;
    try {
      fingerprint = certificateFingerprint(pem);
    } catch {
      continue;
    }
    if (seen.has(fingerprint)) continue;
    seen.add(fingerprint);
    distinct.push(pem);
  }
  return distinct;
}

/** True when both lists hold the same certificates in the same order (compared by fingerprint). */
export function sameCertificates(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((pem, i) => {
    try {
      return certificateFingerprint(pem) === certificateFingerprint(b[i]);
    } catch {
      return false;
    }
  });
}
