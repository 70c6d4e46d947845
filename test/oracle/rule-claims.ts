import type { RuleCode } from '../../src/findings.ts';

/**
 * What each denying rule's message says happens, in terms the pipeline can check:
 * - `istio-refuses`: istiod's validating webhook refuses the object at kubectl apply;
 * - `envoy-rejects`: istiod accepts and pushes it, and Envoy rejects the listener or cluster update;
 * - `istio-drops`: istiod accepts it and drops a field it does not know (a warning at apply);
 * - `istio-converts`: istiod accepts it and converts it into what Envoy gets as the message says (of a field written in
 *   two spellings, which one): asked of istiod's conversion by this pipeline (the `duplicate-key` corpus family, whose
 *   modes the mode comparison checks) and of the whole path by the data-plane tests (EPP212-snake-and-camel);
 * - `istio-drops-patches`: istiod accepts it, and its push fails on it and leaves out the HTTP filter patches of the gateway's
 *   connection manager, of every EnvoyFilter (measured: EPP223-typed-struct-merge in test/dataplane);
 * - `undefined`: what Envoy does is not defined (it may accept or reject): no outcome contradicts it;
 * - `runtime`: the config loads, and something breaks at request time (the EPP, the connection): the
 *   data-plane tests own that claim, this pipeline cannot contradict it;
 * - `webhook`: about the webhook's own work (placeholder, Service lookup), no claim about Istio or Envoy.
 */
export type Claim = 'istio-refuses' | 'envoy-rejects' | 'istio-drops' | 'istio-converts' | 'istio-drops-patches' | 'undefined' | 'runtime' | 'webhook';

export const RULE_CLAIMS: Partial<Record<RuleCode, Claim>> = {
  EPP101: 'webhook',
  EPP102: 'webhook',
  EPP103: 'webhook',
  EPP104: 'webhook',
  EPP105: 'webhook',
  EPP106: 'webhook',
  EPP107: 'webhook',
  EPP108: 'webhook',
  EPP109: 'webhook',
  EPP110: 'webhook',
  EPP111: 'webhook',
  EPP112: 'webhook',
  EPP113: 'runtime',
  EPP114: 'runtime',
  EPP115: 'webhook',
  EPP116: 'webhook',
  EPP117: 'webhook',
  EPP201: 'istio-refuses',
  EPP202: 'runtime',
  EPP203: 'envoy-rejects',
  EPP204: 'runtime',
  EPP205: 'runtime',
  EPP206: 'runtime',
  EPP207: 'runtime',
  EPP208: 'webhook',
  EPP209: 'webhook',
  EPP210: 'envoy-rejects',
  EPP211: 'runtime',
  EPP212: 'istio-converts',
  EPP213: 'istio-drops',
  EPP214: 'istio-refuses',
  EPP215: 'envoy-rejects',
  EPP216: 'envoy-rejects',
  EPP217: 'envoy-rejects',
  EPP218: 'envoy-rejects',
  EPP219: 'istio-refuses',
  EPP220: 'runtime',
  EPP221: 'envoy-rejects',
  EPP222: 'undefined',
  EPP223: 'istio-drops-patches',
  EPP224: 'envoy-rejects',
  EPP225: 'envoy-rejects',
  EPP226: 'envoy-rejects',
  EPP230: 'runtime',
  EPP231: 'runtime',
  EPP232: 'runtime',
  EPP233: 'runtime',
  EPP301: 'envoy-rejects',
  EPP302: 'runtime',
  EPP303: 'envoy-rejects',
  EPP304: 'runtime',
  EPP305: 'runtime',
  EPP306: 'runtime',
  EPP307: 'istio-refuses',
  EPP310: 'istio-refuses',
  EPP311: 'envoy-rejects',
  EPP312: 'envoy-rejects',
  EPP313: 'envoy-rejects',
  EPP314: 'envoy-rejects',
  EPP315: 'envoy-rejects',
  EPP316: 'envoy-rejects',
  EPP317: 'runtime',
  EPP318: 'envoy-rejects',
  EPP319: 'envoy-rejects',
  EPP320: 'envoy-rejects',
  EPP321: 'istio-drops',
  EPP322: 'runtime',
  EPP401: 'webhook',
  EPP402: 'runtime',
  EPP403: 'webhook',
  EPP404: 'webhook',
  EPP405: 'webhook',
  EPP406: 'webhook',
  EPP407: 'webhook',
  EPP408: 'webhook',
  EPP409: 'runtime',
  EPP410: 'runtime',
  EPP411: 'runtime',
  EPP501: 'runtime',
};

/** How README's rule table names each claim (its last column). */
export const CLAIM_LABELS: Record<Claim, string> = {
  'istio-refuses': 'istiod refuses',
  'envoy-rejects': 'Envoy rejects',
  'istio-drops': 'istiod drops',
  'istio-converts': 'istiod converts',
  'istio-drops-patches': "istiod drops the gateway's patches",
  undefined: 'undefined',
  runtime: 'runtime',
  webhook: 'webhook',
};

export function claimOf(code: RuleCode): Claim {
  return RULE_CLAIMS[code] ?? 'runtime';
}
