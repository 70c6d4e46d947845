import { basename, isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * `--exclude` patterns, read the way .gitignore reads them: a pattern without `/` matches a file or directory name
 * anywhere (`vendor`, `*.values.yaml`); one with `/` matches a path from the directory being searched
 * (`test/fixtures`, `charts/*\/templates`). `*` and `?` stay within a path segment, `**` crosses segments. An
 * excluded directory is not entered. A path pattern also matches the path as typed on the command line: from the
 * working directory (`check test --exclude test/fixtures`), or absolute (`--exclude $PWD/test/fixtures`). A file or
 * directory named on the command line is excluded the same way (excludesNamedPath).
 */
export class ExcludePatterns {
  readonly #byName: RegExp[] = [];
  readonly #byPath: RegExp[] = [];
  readonly #byAbsolutePath: RegExp[] = [];
  readonly #workingDirectory: string;

  constructor(patterns: readonly string[], workingDirectory = process.cwd()) {
    this.#workingDirectory = workingDirectory;
    for (const raw of patterns) {
      const pattern = raw.replace(/^\.\//, '').replace(/\/+$/, '');
      if (pattern.replace(/^\/+/, '') === '') continue;
      if (isAbsolute(pattern)) {
        this.#byAbsolutePath.push(globToRegExp(pattern));
      } else if (!pattern.includes('/')) {
        this.#byName.push(globToRegExp(pattern));
      } else {
        this.#byPath.push(globToRegExp(pattern));
        // The working directory is a path, not a pattern: its characters are taken as written.
        this.#byAbsolutePath.push(new RegExp(`^${escapeRegExp(workingDirectory.replace(/\/+$/, ''))}/${globToRegExp(pattern).source.slice(1)}`));
      }
    }
  }

  /**
   * `relativePath` uses `/` and is relative to the directory being searched; the last segment is the name.
   * `absolutePath` is the same file's, resolved from the working directory.
   */
  excludes(relativePath: string, absolutePath: string): boolean {
    const name = relativePath.slice(relativePath.lastIndexOf('/') + 1);
    return this.#byName.some((r) => r.test(name)) || this.#byPath.some((r) => r.test(relativePath)) || this.#byAbsolutePath.some((r) => r.test(absolutePath));
  }
  /**
   * A path named on the command line: excluded when it, or a directory on the way to it, matches, as it would be in a
   * search of the working directory (`check $(git diff --name-only) --exclude test/fixtures`).
   */
  excludesNamedPath(path: string): boolean {
    const absolute = resolve(this.#workingDirectory, path);
    const fromHere = relative(this.#workingDirectory, absolute);
    // Outside the working directory, the directories above the path are nobody's search: only the path itself counts.
    if (fromHere === '' || fromHere.startsWith('..') || isAbsolute(fromHere)) return this.excludes(basename(absolute), absolute);
    const segments = fromHere.split(sep);
    for (let i = 1; i <= segments.length; i++) {
      const prefix = segments.slice(0, i).join('/');
      if (this.excludes(prefix, resolve(this.#workingDirectory, prefix))) return true;
    }
    return false;
  }
}

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
