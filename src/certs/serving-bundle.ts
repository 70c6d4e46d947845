import { createPrivateKey, randomUUID, X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createCertificateAuthority, issueCertificate, shouldRotate, type PemPair } from './authority.ts';

export interface ServingBundleRequest {
  serviceName: string;
  namespace: string;
  extraDnsNames?: string[];
  ipAddresses?: string[];
  /** Serving certificate lifetime; default 365. */
  validityDays?: number;
  /** Lifetime of a newly created CA; default 1825 (5 years). */
  caValidityDays?: number;
}

export interface ServingBundlePaths {
  caCertFile: string;
  caKeyFile: string;
  certFile: string;
  keyFile: string;
}

export interface ServingBundle extends ServingBundlePaths {
  /** False when an existing CA in the directory signed the new certificate, so an installed caBundle stays valid. */
  caCreated: boolean;
  caNotAfter: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
}

export interface DevCertificates extends ServingBundlePaths {
  /** False when valid files already on disk were kept. */
  issued: boolean;
  notAfter: Date;
}

export const DEFAULT_SERVING_VALIDITY_DAYS = 365;
export const DEFAULT_CA_VALIDITY_DAYS = 1825;
const DEV_RENEW_BEFORE_DAYS = 30;
const DEFAULT_IP_ADDRESSES = ['127.0.0.1', '::1'];

export function servingBundlePaths(dir: string): ServingBundlePaths {
  return {
    caCertFile: join(dir, 'ca.crt'),
    caKeyFile: join(dir, 'ca.key'),
    certFile: join(dir, 'tls.crt'),
    keyFile: join(dir, 'tls.key'),
  };
}

/** The names a webhook Service is reached by in-cluster, plus loopback for local runs. */
export function servingDnsNames(serviceName: string, namespace: string, extraDnsNames: string[] = []): string[] {
  const names = [
    serviceName,
    `${serviceName}.${namespace}`,
    `${serviceName}.${namespace}.svc`,
    `${serviceName}.${namespace}.svc.cluster.local`,
    'localhost',
    ...extraDnsNames,
  ];
  return [...new Set(names)];
}

/**
 * Issues a serving certificate into `dir` (ca.crt, ca.key, tls.crt, tls.key). A CA already in `dir` signs it when it
 * outlives the new certificate, so a caBundle already installed in a webhook configuration stays valid.
 */
export function writeServingBundle(dir: string, request: ServingBundleRequest): ServingBundle {
  const validityDays = request.validityDays ?? DEFAULT_SERVING_VALIDITY_DAYS;
  const paths = servingBundlePaths(dir);
  makeDirectory(dir);

  let ca = reusableCertificateAuthority(paths, validityDays);
  const caCreated = ca === undefined;
  if (ca === undefined) {
    ca = createCertificateAuthority({
      commonName: 'epp-webhook CA',
      validityDays: request.caValidityDays ?? DEFAULT_CA_VALIDITY_DAYS,
    });
  }
  const dnsNames = servingDnsNames(request.serviceName, request.namespace, request.extraDnsNames);
  const ipAddresses = [...new Set([...DEFAULT_IP_ADDRESSES, ...(request.ipAddresses ?? [])])];
  const serving = issueCertificate(ca, {
    commonName: `${request.serviceName}.${request.namespace}.svc`,
    dnsNames,
    ipAddresses,
    validityDays,
    usage: 'server',
  });

  if (caCreated) {
    writeFileAtomically(paths.caKeyFile, ca.keyPem, 0o600);
    writeFileAtomically(paths.caCertFile, ca.certPem, 0o644);
  }
  // Key before certificate: a server watching these files sees a matching pair only once both are in place.
  writeFileAtomically(paths.keyFile, serving.keyPem, 0o600);
  writeFileAtomically(paths.certFile, serving.certPem, 0o644);

  return {
    ...paths,
    caCreated,
    caNotAfter: new X509Certificate(ca.certPem).validToDate,
    notAfter: new X509Certificate(serving.certPem).validToDate,
    dnsNames,
    ipAddresses,
  };
}

/**
 * Serving material for `serve` without --tls-cert/--tls-key: keeps a consistent bundle already in `dir` unless it
 * expires within 30 days, otherwise issues one for the default Service name.
 */
export function ensureDevCertificates(
  dir: string,
  request: ServingBundleRequest = { serviceName: 'epp-webhook', namespace: 'epp-webhook' },
): DevCertificates {
  const paths = servingBundlePaths(dir);
  const existing = validExistingBundle(paths, new Date());
  if (existing !== undefined) return { ...paths, issued: false, notAfter: existing };
  // A certificate replaced for its age keeps the names it was issued for (`epp-webhook certs --dns --ip`).
  const kept = namesOf(paths.certFile);
  const bundle = writeServingBundle(dir, {
    ...request,
    extraDnsNames: [...(request.extraDnsNames ?? []), ...kept.dnsNames],
    ipAddresses: [...(request.ipAddresses ?? []), ...kept.ipAddresses],
  });
  return { ...paths, issued: true, notAfter: bundle.notAfter };
}

/** The DNS names and IP addresses of the certificate in `certFile`; none when it cannot be read. */
function namesOf(certFile: string): { dnsNames: string[]; ipAddresses: string[] } {
  try {
    const entries = (new X509Certificate(readFileSync(certFile)).subjectAltName ?? '').split(', ');
    const values = (prefix: string) => entries.filter((e) => e.startsWith(prefix)).map((e) => e.slice(prefix.length));
    return { dnsNames: values('DNS:'), ipAddresses: values('IP Address:') };
  } catch {
    return { dnsNames: [], ipAddresses: [] };
  }
}

function reusableCertificateAuthority(paths: ServingBundlePaths, servingValidityDays: number): PemPair | undefined {
  const ca = readPair(paths.caCertFile, paths.caKeyFile);
  if (ca === undefined) return undefined;
  try {
    const cert = new X509Certificate(ca.certPem);
    if (!cert.ca || !cert.checkPrivateKey(createPrivateKey(ca.keyPem))) return undefined;
  } catch {
    return undefined;
  }
  // A CA that expires before the certificate it signs would cut that certificate's life short without warning.
  return shouldRotate(ca.certPem, new Date(), servingValidityDays + 1) ? undefined : ca;
}

function validExistingBundle(paths: ServingBundlePaths, now: Date): Date | undefined {
  const serving = readPair(paths.certFile, paths.keyFile);
  if (serving === undefined) return undefined;
  try {
    const caCertPem = readFileSync(paths.caCertFile, 'utf8');
    const cert = new X509Certificate(serving.certPem);
    const ca = new X509Certificate(caCertPem);
    const consistent =
      cert.checkPrivateKey(createPrivateKey(serving.keyPem)) && cert.checkIssued(ca) && cert.verify(ca.publicKey);
    if (!consistent || cert.validFromDate > now) return undefined;
    if (shouldRotate(serving.certPem, now, DEV_RENEW_BEFORE_DAYS) || shouldRotate(caCertPem, now, DEV_RENEW_BEFORE_DAYS)) {
      return undefined;
    }
    return cert.validToDate;
  } catch {
    return undefined;
  }
}

function readPair(certFile: string, keyFile: string): PemPair | undefined {
  try {
    return { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
  } catch {
    return undefined;
  }
}

// Rename is atomic within a directory: a reader (a running server, kubectl) never sees a half-written file.
function writeFileAtomically(file: string, contents: string, mode: number): void {
  const temporary = `${file}.${randomUUID()}.tmp`;
  try {
    writeFileSync(temporary, contents, { mode, flag: 'wx' });
    // The process umask may have narrowed `mode` further; the modes are part of the contract (0600 for keys).
    chmodSync(temporary, mode);
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/**
 * `mkdir -p`, by hand: Node's own recursive mkdirSync never returns where a file system refuses a directory with ENOENT
 * under a parent that exists (`--out /proc/x` spun a core until killed).
 */
function makeDirectory(dir: string, parentMade = false): void {
  try {
    mkdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // EEXIST: there already, or made meanwhile by another process; an ENOENT once the parent is made is final.
    if (code === 'EEXIST' && statSync(dir).isDirectory()) return;
    if (code !== 'ENOENT' || parentMade || dirname(dir) === dir) throw error;
    makeDirectory(dirname(dir));
    makeDirectory(dir, true);
  }
}
