import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { watchFiles, type WatchedFiles, type WatchedFilesCallbacks } from './watched-files.ts';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  notAfter: Date;
}

export interface TlsFilesWatcherOptions extends WatchedFilesCallbacks<TlsMaterial> {
  certFile: string;
  keyFile: string;
}

export type TlsFilesWatcher = WatchedFiles<TlsMaterial>;

export class TlsFilesError extends Error {
  override name = 'TlsFilesError';
}

/** Reads a certificate (chain) and its private key, and checks that they belong together and that Node's TLS takes them. */
export function loadTlsPair(certFile: string, keyFile: string): TlsMaterial {
  return verifiedPair(readTlsFile(certFile, 'certificate'), readTlsFile(keyFile, 'private key'), certFile, keyFile);
}

/**
 * Loads the pair now (throwing if it is unusable) and reloads it whenever the files change (watched-files.ts).
 * A certificate written before its key does not match yet, so the old pair stays until both are in place.
 */
export function watchTlsFiles({ certFile, keyFile, ...callbacks }: TlsFilesWatcherOptions): TlsFilesWatcher {
  return watchFiles({
    files: [certFile, keyFile],
    read: () => [readTlsFile(certFile, 'certificate'), readTlsFile(keyFile, 'private key')],
    verify: ([cert, key]) => verifiedPair(cert!, key!, certFile, keyFile),
    ...callbacks,
  });
}

function verifiedPair(cert: Buffer, key: Buffer, certFile: string, keyFile: string): TlsMaterial {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new TlsFilesError(`certificate file ${certFile} does not hold a PEM certificate: ${(error as Error).message}`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new TlsFilesError(`key file ${keyFile} does not hold an unencrypted PEM private key: ${(error as Error).message}`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TlsFilesError(`key file ${keyFile} does not match the certificate in ${certFile}`);
  }
  // OpenSSL's own checks (its security level refuses an RSA key under 2048 bits): its error alone names no file.
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    const message = (error as Error).message;
    const hint = /key too small/.test(message) ? ': OpenSSL takes RSA keys of 2048 bits or more (EC keys of 224)' : '';
    throw new TlsFilesError(`certificate file ${certFile} and key file ${keyFile} are a pair Node's TLS refuses (${message})${hint}`);
  }
  return { cert, key, notAfter: certificate.validToDate };
}

function readTlsFile(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new TlsFilesError(`cannot read ${what} file ${file}: ${(error as Error).message}`);
  }
}
