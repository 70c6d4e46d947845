import { clusterFields, clusterProtocols, clusterTypesAndAddresses, duplicateClusters, istiodClusterNames, neighbourClusters } from './cluster-families.ts';
import type { CorpusEntry } from './corpus-entry.ts';
import { fieldSweep } from './field-sweep.ts';
import { manifests } from './manifest-family.ts';
import { mergesIntoIstiodFilter } from './merge-families.ts';
import { bodyTrailerPairs, duplicateKeys, misspeltModeKeys, modeCombinations, modeValueSpellings } from './mode-families.ts';
import { clusterHttp2Options, extProcFieldRules } from './pgv-families.ts';
import { durations, failOpenAndOverrides, filterConfigs, perRouteShapes, serviceShapes, typedStructs, typeUrls } from './wiring-families.ts';

/**
 * The differential corpus: EnvoyFilters that each vary one thing of a well-wired EPP config (plus the
 * guide's and the wild manifests). Deterministic: the same list, in the same order, on every run.
 */
export function generateCorpus(): CorpusEntry[] {
  const entries = [
    ...modeValueSpellings(),
    ...bodyTrailerPairs(),
    ...modeCombinations(),
    ...duplicateKeys(),
    ...misspeltModeKeys(),
    ...serviceShapes(),
    ...durations(),
    ...failOpenAndOverrides(),
    ...perRouteShapes(),
    ...typedStructs(),
    ...typeUrls(),
    ...filterConfigs(),
    ...extProcFieldRules(),
    ...mergesIntoIstiodFilter(),
    ...clusterTypesAndAddresses(),
    ...clusterProtocols(),
    ...clusterFields(),
    ...clusterHttp2Options(),
    ...neighbourClusters(),
    ...duplicateClusters(),
    ...istiodClusterNames(),
    ...fieldSweep(),
    ...manifests(),
  ];
  const seen = new Set<string>();
  for (const entry of entries) {
    if (seen.has(entry.id)) throw new Error(`corpus id ${entry.id} is not unique`);
    seen.add(entry.id);
  }
  return entries;
}
