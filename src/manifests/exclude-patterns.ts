/**
 * `--exclude` patterns, read the way .gitignore reads them: a pattern without `/` matches a file or directory name
 * anywhere (`vendor`, `*.values.yaml`); one with `/` matches a path from the directory being searched
 * (`test/fixtures`, `charts/*\/templates`). `*` and `?` stay within a path segment, `**` crosses segments. An
 * excluded directory is not entered.
 */
export class ExcludePatterns {
  readonly #byName: RegExp[] = [];
  readonly #byPath: RegExp[] = [];

  constructor(patterns: readonly string[]) {
    for (const raw of patterns) {
      const pattern = raw.replace(/^\.\//, '').replace(/^\/+/, '').replace(/\/+$/, '');
      if (pattern === '') continue;
      (pattern.includes('/') ? this.#byPath : this.#byName).push(globToRegExp(pattern));
    }
  }

  /** `relativePath` uses `/` and is relative to the directory being searched; the last segment is the name. */
  excludes(relativePath: string): boolean {
    const name = relativePath.slice(relativePath.lastIndexOf('/') + 1);
    return this.#byName.some((r) => r.test(name)) || this.#byPath.some((r) => r.test(relativePath));
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
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
