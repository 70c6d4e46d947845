import { readFileSync } from 'node:fs';

/** What the CLI reads of its own package.json, which sits one level above both src/ and its build, dist/. */
export function packageJson(): { version: string; engines?: { node?: string } } {
  return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string; engines?: { node?: string } };
}
