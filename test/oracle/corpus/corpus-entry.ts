import type { JsonMap } from './building-blocks.ts';

/** One EnvoyFilter of the corpus, as a user applies it (before the mutating webhook). */
export interface CorpusEntry {
  /** Unique and stable: `family/place/what varies`. */
  id: string;
  family: string;
  object: JsonMap;
}
