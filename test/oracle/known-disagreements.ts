import type { Category } from './differential.ts';

/**
 * Disagreements the differential test tolerates, each with the reason (README: "Verified against Istio and
 * Envoy"). An entry that stops happening fails the test, so this list cannot go stale.
 */
export const KNOWN_DISAGREEMENTS: Partial<Record<Category, Record<string, string>>> = {};
