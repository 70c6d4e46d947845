import { mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes files the way the kubelet updates a Secret volume (its AtomicWriter): the data goes into a new hidden,
 * timestamped directory, a `..data` symlink is swapped to it by an atomic rename, and each visible file is a symlink
 * through `..data`. A reader sees the old set or the new set, never a mix; a watcher sees the symlinks' targets change.
 * Returns the visible file paths by key.
 */
export function writeSecretVolume(dir: string, data: Record<string, string>): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  const stamp = `..${new Date().toISOString().replace(/[-:]/g, '_').replace('T', '_').replace('Z', '')}.${process.hrtime.bigint()}`;
  const payload = join(dir, stamp);
  mkdirSync(payload);
  for (const [key, value] of Object.entries(data)) writeFileSync(join(payload, key), value, { mode: 0o440 });

  const dataLink = join(dir, '..data');
  const previous = existsSync(dataLink) ? readlinkSync(dataLink) : undefined;
  const temporary = join(dir, '..data_tmp');
  rmSync(temporary, { force: true });
  symlinkSync(stamp, temporary);
  renameSync(temporary, dataLink);

  const files: Record<string, string> = {};
  for (const key of Object.keys(data)) {
    const visible = join(dir, key);
    if (!existsSync(visible)) symlinkSync(join('..data', key), visible);
    files[key] = visible;
  }
  if (previous !== undefined && previous !== stamp) rmSync(join(dir, previous), { recursive: true, force: true });
  return files;
}
