import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { watchFiles, type WatchedFiles } from './watched-files.ts';

export interface ClientCa {
  /** The file as read: what the handshake's `ca` option is given. */
  pem: Buffer;
  /** The subjects of its CA certificates, for the reload's log line. */
  subjects: string[];
}

export class ClientCaError extends Error {
  override name = 'ClientCaError';
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----/g;

export interface ClientCaWatcherOptions {
  file: string;
  /** Called with each new, verified bundle; the caller applies it (`server.setSecureContext`). */
  onChange: (ca: ClientCa) => void;
  /** Called when the changed file is not a usable bundle; the previous one keeps being trusted. */
  onError: (error: Error) => void;
  intervalMs?: number;
}

/**
 * Loads the bundle now (throwing if it is unusable) and reloads it whenever the file changes (watched-files.ts), so
 * a CA rotation (the new CA added to the bundle, the apiserver's certificate reissued, the old CA removed) needs no
 * restart.
 */
export function watchClientCa(options: ClientCaWatcherOptions): WatchedFiles<ClientCa> {
  return watchFiles({
    files: [options.file],
    read: () => [readClientCa(options.file)],
    verify: ([pem]) => verifiedClientCa(pem!, options.file),
    onChange: options.onChange,
    onError: options.onError,
    intervalMs: options.intervalMs,
  });
}

// Node's TLS takes any `ca` without complaint: a file with no certificate in it, or only a leaf, makes the handshake
// refuse every client. Checked here so that it stops the start, or leaves the previous bundle in place.
function verifiedClientCa(pem: Buffer, file: string): ClientCa {
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new ClientCaError(`client CA file ${file} holds no PEM certificate`);
  const subjects: string[] = [];
  for (const [index, block] of blocks.entries()) {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(block);
    } catch (error) {
      throw new ClientCaError(`client CA file ${file}: certificate ${index + 1} of ${blocks.length} cannot be read: ${(error as Error).message}`);
    }
    if (certificate.ca) subjects.push(certificate.subject.replaceAll('\n', ', '));
  }
  if (subjects.length === 0) {
    throw new ClientCaError(
      `client CA file ${file} holds no CA certificate (basicConstraints CA:TRUE), so no client certificate can chain to it; give the CA that signed the apiserver's client certificate`,
    );
  }
  return { pem, subjects };
}

function readClientCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ClientCaError(`cannot read client CA file ${file}: ${(error as Error).message}`);
  }
}
