import { ANNOTATIONS } from '../annotations.ts';
import type { WebhookConfig } from '../config.ts';
import { finding, formatCount, type Finding } from '../findings.ts';
import { formatPath, toJsonPointer } from '../json-path.ts';
import { patchLocation } from './config-patches.ts';
import { PORT_PLACEHOLDER } from './epp-service-port.ts';
import type { PlaceholderSite } from './find-placeholders.ts';

/**
 * What one EnvoyFilter may ask the webhook to substitute; real ones carry a handful of tokens a few dozen characters
 * deep. Each token costs a patch operation and a path recorded in epp-webhook.io/placeholder-paths (or the port's),
 * so the answer grows with the tokens times the length of their paths: 100,000 tokens in a 2.5 MB object took 1.6 s of
 * the event loop (every other admission waits), a 26 MB answer and 280 MB of RSS, and 999 under one key of 100,000
 * characters ran a 128 MB heap out of memory (docs/reliability.md, fix 10). The budget bounds the answer; it counts a
 * path's characters, not the bytes its JSON takes.
 */
export const MAX_PLACEHOLDER_TOKENS = 1_000;
export const MAX_PLACEHOLDER_PATH_CHARACTERS = 128 * 1024;

/**
 * EPP115 when the sites (findEachPlaceholder keeps a few past MAX_PLACEHOLDER_TOKENS, no more) are more than the
 * webhook substitutes, or their paths too long in all; undefined when they may be substituted.
 */
export function placeholderBudgetProblem(sites: readonly PlaceholderSite[], portSites: readonly PlaceholderSite[], subject: string, config: WebhookConfig): Finding | undefined {
  const tokens = sites.length + portSites.length;
  if (tokens > MAX_PLACEHOLDER_TOKENS) {
    return overBudget(sites, portSites, subject, config, `more than ${formatCount(MAX_PLACEHOLDER_TOKENS)} ${config.placeholder} and ${PORT_PLACEHOLDER} tokens (one per string and token)`);
  }
  if (pathsLongerThan(MAX_PLACEHOLDER_PATH_CHARACTERS, sites, portSites)) {
    return overBudget(sites, portSites, subject, config, `tokens at paths of more than ${formatCount(MAX_PLACEHOLDER_PATH_CHARACTERS)} characters in all`);
  }
  return undefined;
}

/**
 * Whether the sites' JSON pointers are longer than `budget` in all. Every admission with a token asks, so the pointers
 * are built only when a bound (each character of a key counted twice, as if escaped) exceeds the budget, and then
 * only up to the first sum past it: one key can be as long as the body.
 */
function pathsLongerThan(budget: number, sites: readonly PlaceholderSite[], portSites: readonly PlaceholderSite[]): boolean {
  if (pathBound(sites) + pathBound(portSites) <= budget) return false;
  let characters = 0;
  for (const site of [...sites, ...portSites]) {
    characters += toJsonPointer(site.segments).length;
    if (characters > budget) return true;
  }
  return false;
}

function pathBound(sites: readonly PlaceholderSite[]): number {
  let bound = 0;
  for (const site of sites) for (const segment of site.segments) bound += typeof segment === 'number' ? 11 : 1 + 2 * segment.length;
  return bound;
}

function overBudget(sites: readonly PlaceholderSite[], portSites: readonly PlaceholderSite[], subject: string, config: WebhookConfig, what: string): Finding {
  const first = sites[0] ?? portSites[0];
  return finding(
    'EPP115',
    config.severities,
    { location: patchLocation(first.patchIndex), path: formatPath(first.segments) },
    `${subject} holds ${what}; the webhook substitutes at most ${formatCount(MAX_PLACEHOLDER_TOKENS)} tokens in one EnvoyFilter, at paths of ${formatCount(MAX_PLACEHOLDER_PATH_CHARACTERS)} characters in all (each token is a patch operation and a path recorded in ${ANNOTATIONS.placeholderPaths}). Nothing was substituted`,
    `write the tokens only where Envoy needs the EPP's address or port (a cluster's socket_address and port_value), under short keys; the limits are per object, so a large config may be split over several EnvoyFilters`,
  );
}
