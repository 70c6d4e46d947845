/**
 * Certificates made field by field with node-forge, for the kinds `src/certs/authority.ts` never makes (a v1 root, a
 * root without basicConstraints, a weak key): what the tests ask Node's TLS about.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface HandMadeCertificate {
  certPem: string;
  keyPem: string;
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}

export type CertificateExtension = Record<string, unknown>;

export function handMadeCertificate(
  commonName: string,
  options: { issuer?: HandMadeCertificate; version?: number; extensions: CertificateExtension[]; modulusLength?: number; notAfter?: Date },
): HandMadeCertificate {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: options.modulusLength ?? 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.version = options.version ?? 2;
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notAfter = options.notAfter ?? new Date(Date.now() + 86_400_000);
  cert.validity.notBefore = new Date(Math.min(Date.now(), cert.validity.notAfter.getTime()) - 86_400_000);
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  cert.setIssuer(options.issuer ? options.issuer.cert.subject.attributes : [{ name: 'commonName', value: commonName }]);
  if (options.extensions.length > 0) cert.setExtensions(options.extensions);
  cert.sign(options.issuer?.key ?? key, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem, cert, key };
}
