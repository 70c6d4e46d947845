import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, unwatchFile, watch, watchFile, type FSWatcher, type Stats } from 'node:fs';
import { dirname } from 'node:path';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  notAfter: Date;
}

export interface TlsFilesWatcherOptions {
  certFile: string;
  keyFile: string;
  /** Called with each new, verified pair; the caller applies it (`server.setSecureContext`). */
  onChange: (material: TlsMaterial) => void;
  /** Called when changed files do not form a usable pair; the previous pair keeps being served. */
  onError: (error: Error) => void;
  /** How often the files are stat-polled; default 1000. */
  intervalMs?: number;
}

export interface TlsFilesWatcher {
  close(): void;
  /** The pair last handed to onChange (or loaded at start). */
  current(): TlsMaterial;
}

export class TlsFilesError extends Error {
  override name = 'TlsFilesError';
}

// Editors and `kubectl cp` write a file in several steps; waiting briefly folds one update's events into one reload.
const SETTLE_MS = 30;

/** Reads a certificate (chain) and its private key, and checks that they belong together. */
export function loadTlsPair(certFile: string, keyFile: string): TlsMaterial {
  return verifiedPair(readTlsFile(certFile, 'certificate'), readTlsFile(keyFile, 'private key'), certFile, keyFile);
}

/**
 * Loads the pair now (throwing if it is unusable) and reloads it whenever the files change, without a restart.
 * Polling (fs.watchFile stats through symlinks) catches Kubernetes Secret volume updates, which swap a `..data`
 * symlink rather than write the files; a directory watch (fs.watch) makes ordinary writes show up at once.
 * A changed pair that does not match (certificate written, key not yet) is not applied: the old pair stays and
 * the files are read again on the next event or poll until they match.
 */
export function watchTlsFiles(options: TlsFilesWatcherOptions): TlsFilesWatcher {
  const { certFile, keyFile, onChange, onError } = options;
  const intervalMs = options.intervalMs ?? 1000;
  let current = loadTlsPair(certFile, keyFile);
  let currentFingerprint = fingerprint(current.cert, current.key);
  let lastFailure: string | undefined;
  let closed = false;
  let settleTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;

  const reload = (): void => {
    settleTimer = undefined;
    if (closed) return;
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = readTlsFile(certFile, 'certificate');
      key = readTlsFile(keyFile, 'private key');
    } catch (error) {
      fail(error as Error, (error as Error).message);
      return;
    }
    const candidate = fingerprint(cert, key);
    if (candidate === currentFingerprint) return succeed();
    if (candidate === lastFailure) return retryLater();
    let material: TlsMaterial;
    try {
      material = verifiedPair(cert, key, certFile, keyFile);
      onChange(material);
    } catch (error) {
      fail(error as Error, candidate);
      return;
    }
    current = material;
    currentFingerprint = candidate;
    succeed();
  };

  const fail = (error: Error, failure: string): void => {
    // The same broken state is reported once, not on every retry.
    if (failure !== lastFailure) onError(error);
    lastFailure = failure;
    retryLater();
  };

  const succeed = (): void => {
    lastFailure = undefined;
    if (retryTimer !== undefined) clearTimeout(retryTimer);
    retryTimer = undefined;
  };

  // A poll only fires on a stat change; a pair seen half-updated is retried on a timer as well.
  const retryLater = (): void => {
    if (closed || retryTimer !== undefined) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      scheduleReload();
    }, intervalMs);
    retryTimer.unref();
  };

  const scheduleReload = (): void => {
    if (closed || settleTimer !== undefined) return;
    settleTimer = setTimeout(reload, SETTLE_MS);
    settleTimer.unref();
  };

  const onStat = (now: Stats, previous: Stats): void => {
    if (now.mtimeMs !== previous.mtimeMs || now.ino !== previous.ino || now.size !== previous.size) scheduleReload();
  };
  for (const file of new Set([certFile, keyFile])) {
    watchFile(file, { interval: intervalMs, persistent: false }, onStat);
  }

  const directoryWatchers: FSWatcher[] = [];
  for (const directory of new Set([dirname(certFile), dirname(keyFile)])) {
    try {
      const watcher = watch(directory, { persistent: false }, scheduleReload);
      // Some file systems (network mounts, some containers) cannot be watched; the poll still covers them.
      watcher.on('error', () => watcher.close());
      directoryWatchers.push(watcher);
    } catch {
      // Same: polling alone is slower but correct.
    }
  }

  return {
    close(): void {
      closed = true;
      for (const file of new Set([certFile, keyFile])) unwatchFile(file, onStat);
      for (const watcher of directoryWatchers) watcher.close();
      if (settleTimer !== undefined) clearTimeout(settleTimer);
      if (retryTimer !== undefined) clearTimeout(retryTimer);
    },
    current: () => current,
  };
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
  return { cert, key, notAfter: certificate.validToDate };
}

function readTlsFile(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new TlsFilesError(`cannot read ${what} file ${file}: ${(error as Error).message}`);
  }
}

function fingerprint(cert: Buffer, key: Buffer): string {
  return createHash('sha256').update(cert).update('\0').update(key).digest('hex');
}
