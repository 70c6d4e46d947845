import { createHash } from 'node:crypto';
import { unwatchFile, watch, watchFile, type FSWatcher, type Stats } from 'node:fs';
import { dirname } from 'node:path';

export interface WatchedFilesOptions<T> {
  files: string[];
  /** Reads the files' contents; throws a message naming the file it could not read. */
  read: () => Buffer[];
  /** Turns contents into the value served; throws when they are not usable (yet). */
  verify: (contents: Buffer[]) => T;
  /** Called with each new, verified value; the caller applies it (`server.setSecureContext`). */
  onChange: (value: T) => void;
  /** Called when changed files are not usable; the previous value keeps being served. */
  onError: (error: Error) => void;
  /** How often the files are stat-polled; default 1000. */
  intervalMs?: number;
}

/** What a watcher of particular files (tls-files.ts, client-ca.ts) passes through from its caller. */
export type WatchedFilesCallbacks<T> = Pick<WatchedFilesOptions<T>, 'onChange' | 'onError' | 'intervalMs'>;

export interface WatchedFiles<T> {
  close(): void;
  /** The value last handed to onChange (or loaded at start). */
  current(): T;
}

// Editors and `kubectl cp` write a file in several steps; waiting briefly folds one update's events into one reload.
const SETTLE_MS = 30;

/**
 * Loads the value now (throwing if it is unusable) and reloads it whenever the files change, without a restart.
 * Polling (fs.watchFile stats through symlinks) catches Kubernetes Secret volume updates, which swap a `..data`
 * symlink rather than write the files; a directory watch (fs.watch) makes ordinary writes show up at once.
 * Files changed but not usable (a certificate written, its key not yet) are not applied: the old value stays and
 * the files are read again on the next event or poll until they verify.
 */
export function watchFiles<T>(options: WatchedFilesOptions<T>): WatchedFiles<T> {
  const { read, verify, onChange, onError } = options;
  const files = [...new Set(options.files)];
  const intervalMs = options.intervalMs ?? 1000;
  const initialContents = read();
  let current = verify(initialContents);
  let currentFingerprint = fingerprint(initialContents);
  let lastFailure: string | undefined;
  let closed = false;
  let settleTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;

  const reload = (): void => {
    settleTimer = undefined;
    if (closed) return;
    let contents: Buffer[];
    try {
      contents = read();
    } catch (error) {
      fail(error as Error, (error as Error).message);
      return;
    }
    const candidate = fingerprint(contents);
    if (candidate === currentFingerprint) return succeed();
    if (candidate === lastFailure) return retryLater();
    let value: T;
    try {
      value = verify(contents);
      onChange(value);
    } catch (error) {
      fail(error as Error, candidate);
      return;
    }
    current = value;
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

  // A poll only fires on a stat change; files seen half-updated are retried on a timer as well.
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
  for (const file of files) watchFile(file, { interval: intervalMs, persistent: false }, onStat);

  const directoryWatchers: FSWatcher[] = [];
  for (const directory of new Set(files.map((file) => dirname(file)))) {
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
      for (const file of files) unwatchFile(file, onStat);
      for (const watcher of directoryWatchers) watcher.close();
      if (settleTimer !== undefined) clearTimeout(settleTimer);
      if (retryTimer !== undefined) clearTimeout(retryTimer);
    },
    current: () => current,
  };
}

function fingerprint(contents: Buffer[]): string {
  const hash = createHash('sha256');
  for (const content of contents) hash.update(content).update('\0');
  return hash.digest('hex');
}
