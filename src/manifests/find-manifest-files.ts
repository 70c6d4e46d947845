import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ExcludePatterns } from './exclude-patterns.ts';

export interface UnreadablePath {
  path: string;
  reason: string;
}

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

/** Directories that hold other people's files, never the manifests a repository deploys. */
const NOT_OURS = new Set(['node_modules']);

/**
 * The manifest files under a directory, depth first in name order so output is stable across runs and
 * machines. Dotfiles and dot-directories (.git, .github), node_modules and excluded paths are skipped; symlinked
 * directories are followed once.
 */
export function findManifestFiles(directory: string, exclude?: ExcludePatterns): { files: string[]; unreadable: UnreadablePath[] } {
  const files: string[] = [];
  const unreadable: UnreadablePath[] = [];
  const visited = new Set<string>();

  const walk = (dir: string, relative: string): void => {
    let real: string;
    let names: string[];
    try {
      real = realpathSync(dir);
      names = readdirSync(dir).sort();
    } catch (error) {
      unreadable.push({ path: dir, reason: reasonOf(error) });
      return;
    }
    if (visited.has(real)) return;
    visited.add(real);
    for (const name of names) {
      if (name.startsWith('.') || NOT_OURS.has(name)) continue;
      const path = join(dir, name);
      const relativePath = relative === '' ? name : `${relative}/${name}`;
      if (exclude?.excludes(relativePath, resolve(path))) continue;
      let isDirectory: boolean;
      try {
        isDirectory = statSync(path).isDirectory();
      } catch (error) {
        // A dangling symlink named like a manifest is a file the user expects to be checked.
        if (isManifestName(name)) unreadable.push({ path, reason: reasonOf(error) });
        continue;
      }
      if (isDirectory) walk(path, relativePath);
      else if (isManifestName(name)) files.push(path);
    }
  };
  walk(directory, '');
  return { files, unreadable };
}

function isManifestName(name: string): boolean {
  const lower = name.toLowerCase();
  return MANIFEST_EXTENSIONS.some((extension) => lower.endsWith(extension));
}

/** `no such file or directory` rather than Node's `ENOENT: no such file or directory, stat 'x'`, which repeats the path. */
export function reasonOf(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    default:
      return message;
  }
}
