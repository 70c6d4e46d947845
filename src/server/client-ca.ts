import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { watchFiles, type WatchedFiles, type WatchedFilesCallbacks } from './watched-files.ts';

export interface ClientCa {
  /** The file as read: what the handshake's `ca` option is given. */
  pem: Buffer;
  /** The subjects of its self-signed certificates (the roots a client may chain to), for the reload's log line. */
  subjects: string[];
}

export class ClientCaError extends Error {
  override name = 'ClientCaError';
}

// OpenSSL reads a PEM block only from a line's start (lines end at \n), skips a byte-order mark there, and ignores
// spaces and control characters after the dashes. TRUSTED CERTIFICATE is OpenSSL's form with trust settings.
const BYTE_ORDER_MARK = /(?<![^\n])\xEF\xBB\xBF/g;
const CERTIFICATE_MARKER = /-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----/g;
const CERTIFICATE_BLOCK =
  /(?<![^\n])-----BEGIN ((?:TRUSTED |X509 )?)CERTIFICATE-----[\x00-\x09\x0b-\x20]*\n[^-]*(?<=\n)-----END \1CERTIFICATE-----[\x00-\x09\x0b-\x20]*(?=\n|$)/g;
// Extended key usages under which a root may vouch for a client: clientAuth, and any.
const CLIENT_AUTH_USAGES = ['1.3.6.1.5.5.7.3.2', '2.5.29.37.0'];
// OpenSSL's default security level (2) refuses RSA keys under 2,048 bits anywhere in a chain.
const MIN_RSA_BITS = 2048;

export interface ClientCaWatcherOptions extends WatchedFilesCallbacks<ClientCa> {
  file: string;
}

/**
 * Loads the bundle now (throwing if it is unusable) and reloads it whenever the file changes (watched-files.ts), so
 * a CA rotation (the new CA added to the bundle, the apiserver's certificate reissued, the old CA removed) needs no
 * restart.
 */
export function watchClientCa({ file, ...callbacks }: ClientCaWatcherOptions): WatchedFiles<ClientCa> {
  return watchFiles({
    files: [file],
    read: () => [readClientCa(file)],
    verify: ([pem]) => verifiedClientCa(pem!, file),
    ...callbacks,
  });
}

// Node's TLS takes any `ca` without complaint, but verifies a client only up to a self-signed certificate in it (it
// sets no partial-chain flag), and reads the bundle only up to a block it cannot read. So a file with no certificate,
// with only intermediates and leaves, or whose roots are expired, for servers only or too weak a key, makes the
// handshake refuse every client: refused here instead, so that it stops the start or leaves the previous bundle in
// place. A damaged block is refused too, wherever it is, as a file half written. test/server/client-ca.test.ts asks
// the handshake itself about each kind of bundle this tells apart.
function verifiedClientCa(pem: Buffer, file: string): ClientCa {
  const text = pem.toString('latin1').replace(BYTE_ORDER_MARK, '');
  const markers = text.match(CERTIFICATE_MARKER)?.length ?? 0;
  const blocks = text.match(CERTIFICATE_BLOCK) ?? [];
  if (markers === 0) throw new ClientCaError(`client CA file ${file} holds no PEM certificate`);
  if (blocks.length !== markers) {
    throw new ClientCaError(`client CA file ${file}: ${markers - blocks.length} of its ${markers} PEM certificates do not start at a line's start or have no matching END line`);
  }
  const certificates: X509Certificate[] = [];
  for (const [index, block] of blocks.entries()) {
    try {
      certificates.push(new X509Certificate(block));
    } catch (error) {
      throw new ClientCaError(`client CA file ${file}: certificate ${index + 1} of ${blocks.length} cannot be read: ${(error as Error).message}`);
    }
  }
  // Not checkIssued(itself): that also asks for keyUsage keyCertSign, which a pinned self-signed client certificate lacks.
  const roots = certificates.filter((certificate) => certificate.subject === certificate.issuer && certificate.verify(certificate.publicKey));
  if (roots.length === 0) {
    throw new ClientCaError(
      `client CA file ${file} holds no self-signed (root) certificate, and the handshake trusts a client only when its chain ends at one in this file; add the root CA that the apiserver's client certificate chains to`,
    );
  }
  const unusable = roots.map((root) => ({ root, reason: unusableRoot(root, new Date()) }));
  const anchors = unusable.filter(({ reason }) => reason === undefined).map(({ root }) => root);
  if (anchors.length === 0) {
    const reasons = unusable.map(({ root, reason }) => `${subjectOf(root)} ${reason}`).join('; ');
    throw new ClientCaError(`client CA file ${file} holds no root certificate the handshake can trust a client under: ${reasons}`);
  }
  return { pem, subjects: anchors.map(subjectOf) };
}

function unusableRoot(root: X509Certificate, now: Date): string | undefined {
  if (root.validToDate < now) return `expired on ${root.validToDate.toISOString()}`;
  const usages = root.keyUsage;
  if (usages !== undefined && !usages.some((usage) => CLIENT_AUTH_USAGES.includes(usage))) return `is for other uses than client authentication (extended key usage ${usages.join(', ')})`;
  const bits = root.publicKey.asymmetricKeyDetails?.modulusLength;
  if (root.publicKey.asymmetricKeyType === 'rsa' && bits !== undefined && bits < MIN_RSA_BITS) return `has a ${bits}-bit RSA key (the handshake needs ${MIN_RSA_BITS} or more)`;
  return undefined;
}

function subjectOf(certificate: X509Certificate): string {
  return certificate.subject.replaceAll('\n', ', ');
}

function readClientCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ClientCaError(`cannot read client CA file ${file}: ${(error as Error).message}`);
  }
}
