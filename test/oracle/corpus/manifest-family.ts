import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { JsonMap } from './building-blocks.ts';
import type { CorpusEntry } from './corpus-entry.ts';

const MANIFESTS = fileURLToPath(new URL('../../fixtures/manifests/', import.meta.url));

/** The EnvoyFilters of the guide and of the wild (test/fixtures/manifests), as their authors wrote them. */
export const MANIFEST_FILES = [
  'guide-envoyfilter.yaml',
  'guide-envoyfilter-buffered.yaml',
  'full-duplex-envoyfilter.yaml',
  'wild/operator-envoyfilter-route-override.yaml',
  'wild/operator-sample-envoyfilter-epp.yaml',
];

export function manifests(): CorpusEntry[] {
  const entries: CorpusEntry[] = [];
  for (const file of MANIFEST_FILES) {
    for (const document of parseAllDocuments(readFileSync(`${MANIFESTS}${file}`, 'utf8'))) {
      const object = document.toJS() as JsonMap | null;
      if (object?.kind !== 'EnvoyFilter') continue;
      entries.push({ id: `manifest/${file}`, family: 'manifest', object });
    }
  }
  return entries;
}
