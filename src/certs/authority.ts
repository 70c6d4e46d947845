import { createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface PemPair {
  certPem: string;
  keyPem: string;
}

export interface CertificateAuthorityRequest {
  commonName: string;
  validityDays: number;
}

export interface CertificateRequest {
  commonName: string;
  /** Subject O values; the kube-apiserver reads them as the groups of a client certificate (`system:masters` = admin). */
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  validityDays: number;
  usage: 'server' | 'client';
}

const DAY_MS = 24 * 60 * 60 * 1000;
// Tolerates clocks a little behind ours (a kube-apiserver, a node) without rejecting a just-issued certificate.
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** A self-signed RSA 2048 CA that may sign certificates and nothing else. */
export function createCertificateAuthority(request: CertificateAuthorityRequest): PemPair {
  const { publicKey, privateKey, keyPem } = generateRsaKey();
  const cert = newCertificate(publicKey, request.validityDays);
  const subject = distinguishedName(request.commonName, []);
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signSha256WithRsa(cert, privateKey);
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** A leaf certificate for a TLS server or client, signed by `ca`. */
export function issueCertificate(ca: PemPair, request: CertificateRequest): PemPair {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = rsaPrivateKey(ca.keyPem);
  const { publicKey, keyPem } = generateRsaKey();
  const cert = newCertificate(publicKey, request.validityDays);
  cert.setSubject(distinguishedName(request.commonName, request.organizations ?? []));
  cert.setIssuer(reencodableAttributes(caCert.subject.attributes));
  const altNames = subjectAltNames(request.dnsNames ?? [], request.ipAddresses ?? []);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    request.usage === 'server' ? { name: 'extKeyUsage', serverAuth: true } : { name: 'extKeyUsage', clientAuth: true },
    ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: keyIdentifierOf(caCert) },
  ]);
  signSha256WithRsa(cert, caKey);
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

export function certificateExpiry(certPem: string | Buffer): Date {
  return new X509Certificate(certPem).validToDate;
}

/** True when the certificate expires within `renewBeforeDays` of `now` (or already has). */
export function shouldRotate(certPem: string | Buffer, now: Date, renewBeforeDays: number): boolean {
  return certificateExpiry(certPem).getTime() - now.getTime() <= renewBeforeDays * DAY_MS;
}

// node-forge generates RSA keys in pure JavaScript (seconds per 2048-bit key); OpenSSL via node:crypto takes milliseconds.
function generateRsaKey(): { publicKey: forge.pki.rsa.PublicKey; privateKey: KeyObject; keyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
    privateKey: createPrivateKey(privateKey),
    keyPem: privateKey,
  };
}

function rsaPrivateKey(keyPem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw new Error(`the CA key must be an unencrypted private key in PEM: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new Error(`the CA key must be an RSA key (node-forge writes RSA signatures only), got ${key.asymmetricKeyType}`);
  }
  return key;
}

// node-forge's RSA signing is pure JavaScript big-integer arithmetic, tens to hundreds of milliseconds per certificate;
// OpenSSL signs the same bytes in well under one. forge's cert.sign(key, md) feeds the DER TBSCertificate into
// md.update and then calls key.sign(md): a digest stand-in that collects those bytes lets node:crypto sign them.
function signSha256WithRsa(cert: forge.pki.Certificate, signingKey: KeyObject): void {
  const chunks: string[] = [];
  const collector = {
    algorithm: 'sha256',
    update(bytes: string) {
      chunks.push(bytes);
      return collector;
    },
  };
  const signer = { sign: () => sign('sha256', Buffer.from(chunks.join(''), 'binary'), signingKey).toString('binary') };
  cert.sign(signer as unknown as forge.pki.rsa.PrivateKey, collector as unknown as forge.md.MessageDigest);
}

function newCertificate(publicKey: forge.pki.rsa.PublicKey, validityDays: number): forge.pki.Certificate {
  if (!Number.isInteger(validityDays) || validityDays < 1) {
    throw new RangeError(`validityDays must be a whole number of days, at least 1 (got ${validityDays})`);
  }
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerialNumber();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(now + validityDays * DAY_MS);
  return cert;
}

// 128 random bits, as hex DER INTEGER content: the top bit clear keeps it positive and a non-zero first byte keeps
// the encoding minimal; Go's x509 parser (the kube-apiserver) rejects negative or non-minimal serials.
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0] & 0x7f || 0x01;
  return bytes.toString('hex');
}

// @types/node-forge types valueTagClass as an asn1.Class; node-forge actually stores the universal tag (asn1.Type) there.
const UTF8_TAG = forge.asn1.Type.UTF8 as number as forge.asn1.Class;

// UTF8String everywhere: node-forge's default PrintableString cannot carry characters such as `_` or `@`.
function distinguishedName(commonName: string, organizations: string[]): forge.pki.CertificateField[] {
  return [
    ...organizations.map((value) => ({ shortName: 'O', value, valueTagClass: UTF8_TAG })),
    { shortName: 'CN', value: commonName, valueTagClass: UTF8_TAG },
  ];
}

// node-forge parses UTF8String values as raw bytes but encodes them again on write; decoding first keeps the issuer
// byte-identical to the CA's subject, which is how verifiers match a certificate to its CA.
function reencodableAttributes(attributes: forge.pki.CertificateField[]): forge.pki.CertificateField[] {
  return attributes.map((attribute) =>
    attribute.valueTagClass === UTF8_TAG && typeof attribute.value === 'string'
      ? { ...attribute, value: forge.util.decodeUtf8(attribute.value) }
      : attribute,
  );
}

function subjectAltNames(dnsNames: string[], ipAddresses: string[]): object[] {
  for (const ip of ipAddresses) {
    if (isIP(ip) === 0) throw new RangeError(`not an IP address: ${JSON.stringify(ip)}`);
  }
  return [...dnsNames.map((value) => ({ type: 2, value })), ...ipAddresses.map((ip) => ({ type: 7, ip }))];
}

function keyIdentifierOf(caCert: forge.pki.Certificate): string {
  const extension = caCert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  return extension?.subjectKeyIdentifier !== undefined
    ? forge.util.hexToBytes(extension.subjectKeyIdentifier)
    : caCert.generateSubjectKeyIdentifier().getBytes();
}
