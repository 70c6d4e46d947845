import { EXT_PROC_SCHEMA } from '../../src/envoyfilter/ext-proc-schema.ts';
import type { Finding } from '../../src/findings.ts';
import type { Mode } from './effective-modes.ts';
import type { EnvoyVerdict } from './envoy/envoy-validate.ts';
import type { IstioVerdict } from './istio-oracle.ts';
import { claimOf } from './rule-claims.ts';
import type { WebhookVerdict } from './webhook-verdict.ts';

/** What "istiod validation -> Istio translation -> Envoy validate" does with one EnvoyFilter. */
export interface PipelineVerdict {
  /** `dropped-by-istio`: istiod admits it, and its push fails on it and leaves out the HTTP filter patches of the gateway's connection manager. */
  outcome: 'rejected-by-istio' | 'dropped-by-istio' | 'rejected-by-envoy' | 'accepted';
  istio: IstioVerdict;
  envoy?: EnvoyVerdict;
  /** The mode Envoy runs at each ext_proc site (see effective-modes.ts). */
  effective: Map<string, Mode>;
  /** Fields of ext_proc, cluster and address messages istiod drops (its strict-decoding warning), e.g. `request_body_mod`. */
  dropped: string[];
}

export const CATEGORIES = {
  'pipeline-rejects-webhook-admits': 'Istio or Envoy rejects it, the webhook admits it',
  'denial-claim-contradicted': 'the webhook denies saying Istio (or Envoy) refuses it, and that system accepts it',
  'rejection-unexplained': 'Istio or Envoy rejects it and the webhook denies it, but no finding says that system refuses it',
  'mode-differs': 'Envoy runs another processing mode than the one the webhook judged',
  'dropped-field-unnamed': 'istiod drops a misspelt ext_proc, cluster or endpoint address field and no finding names it',
  'envoy-reason-differs': "Envoy rejects it for a reason none of the webhook's Envoy denials gives",
} as const;
export type Category = keyof typeof CATEGORIES;

export interface Disagreement {
  id: string;
  category: Category;
  detail: string;
}

const UNKNOWN_FIELD = /unknown field "([^"]+)" in ([\w.]+)/;
/** The messages whose every field the webhook knows: an ext_proc config's, the cluster, its endpoints' addresses and circuit breakers. */
const KNOWN_MESSAGES = new Set([
  ...Object.values(EXT_PROC_SCHEMA).map((m) => m.fullName),
  'envoy.config.cluster.v3.Cluster',
  'envoy.config.core.v3.SocketAddress',
  'envoy.config.cluster.v3.CircuitBreakers',
  'envoy.config.cluster.v3.CircuitBreakers.Thresholds',
]);

/** The fields istiod's strict decoding warns about in those messages (it names the first one per patch). */
export function droppedFields(warnings: readonly string[]): string[] {
  return warnings.flatMap((w) => {
    const m = UNKNOWN_FIELD.exec(w);
    return m && KNOWN_MESSAGES.has(m[2]) ? [m[1]] : [];
  });
}

const show = (f: Finding) => `${f.code} ${f.message}`;

/**
 * What Envoy's refusal says, for each rule that says Envoy rejects a config: a denial is right for the right reason only
 * where Envoy's message is this one (its proto constraint, or its filter's own check). EPP312 (any cluster field Envoy
 * refuses) has no single reason and is not held to one.
 */
const ENVOY_REASONS: Partial<Record<Finding['code'], RegExp>> = {
  EPP203: /has to be set to SEND/,
  EPP210: /ProcessingMode|processing_mode|allowed_override_modes/,
  EPP215: /[Dd]uration|Timeout: value must be inside range/,
  EPP216: /GrpcService|HttpService|grpc_service|http_service|GrpcInitialMetadata|grpc_initial_metadata/,
  EPP217: /per filter configuration|"override", reason: is required|Disabled: value must equal true/,
  EPP218: /http_service instead of gRPC service/,
  EPP221: /Unable to parse JSON as proto|invalid JSON|Protobuf message \(type [\w.]+ reason INVALID_ARGUMENT/,
  EPP224: /@type must contain at least one \//,
  EPP225: /StatusOnError|status_on_error|descriptor expression|failed to create an expression|ProcessingRequestModifier|processing_request_modifier|OnProcessingResponse|on_processing_response|ForwardRules|MutationRules/,
  EPP226: /regex|RE2|perl operator/i,
  EPP301: /One and only one of grpc_service or http_service|'envoy\.filters\.http\.ext_proc' with type URL: ''/,
  EPP303: /malformed IP address/,
  EPP311: /EDS|LB policy|ClusterValidationError\.(Type|LbPolicy)|eds_cluster_config|load_balancing_policy|cluster provided LB/,
  EPP313: /TransportSocket|transport_sockets/,
  EPP314: /ALPN/,
  EPP315: /upstream_protocol_options|protocol options implementation/,
  EPP316: /disable_clear_route_cache|route_cache_action|none-default/,
  EPP318: /duplicate cluster/,
  EPP319: /must be the last filter/,
  EPP320: /HealthCheck|health_checker/,
};

/** Envoy's refusal, where every Envoy denial of the webhook has a reason to hold it to, and none of them is it. */
function reasonDiffers(denials: readonly Finding[], pipeline: PipelineVerdict): string | undefined {
  if (pipeline.outcome !== 'rejected-by-envoy') return undefined;
  const codes = [...new Set(denials.filter((d) => claimOf(d.code) === 'envoy-rejects').map((d) => d.code))];
  const reasons = codes.map((code) => ENVOY_REASONS[code]);
  if (codes.length === 0 || reasons.some((r) => r === undefined)) return undefined;
  const message = pipeline.envoy?.message ?? '';
  return reasons.some((r) => r!.test(message)) ? undefined : `denied for ${codes.join(', ')}; Envoy: ${message.slice(0, 300)}`;
}

/** Where the webhook and the pipeline disagree about one EnvoyFilter (none when they agree). */
export function compare(id: string, webhook: WebhookVerdict, pipeline: PipelineVerdict): Disagreement[] {
  const out: Disagreement[] = [];
  const denials = webhook.findings.filter((f) => f.severity === 'deny');
  const whyRejected = () => (pipeline.outcome === 'rejected-by-istio' ? pipeline.istio.error : pipeline.outcome === 'dropped-by-istio' ? droppedBecause(pipeline) : pipeline.envoy?.message);
  if (webhook.allowed && pipeline.outcome !== 'accepted') {
    const why = whyRejected();
    out.push({ id, category: 'pipeline-rejects-webhook-admits', detail: `${pipeline.outcome}: ${why}` });
  }
  // A config istiod refuses, or whose listener patches its push drops, never reaches Envoy: the webhook's Envoy claims
  // about it cannot be checked, only its istiod claims (and at least one of those must then be there, else the Envoy
  // claim is the wrong party).
  const party = pipeline.outcome === 'rejected-by-istio' ? 'istio-refuses' : pipeline.outcome === 'dropped-by-istio' ? 'istio-drops-patches' : 'envoy-rejects';
  const istioClaimConfirmed = party !== 'envoy-rejects' && denials.some((d) => claimOf(d.code) === party);
  if (!webhook.allowed && pipeline.outcome !== 'accepted') {
    if (!denials.some((d) => claimOf(d.code) === party || (party === 'envoy-rejects' && claimOf(d.code) === 'undefined'))) {
      const why = whyRejected();
      out.push({ id, category: 'rejection-unexplained', detail: `${pipeline.outcome}: ${why}; denied for ${denials.map((d) => d.code).join(', ')}` });
    }
  }
  for (const denial of denials) {
    const claim = claimOf(denial.code);
    if (claim === 'envoy-rejects' && istioClaimConfirmed) continue;
    const contradicted =
      (claim === 'istio-refuses' && pipeline.outcome !== 'rejected-by-istio') ||
      (claim === 'envoy-rejects' && pipeline.outcome !== 'rejected-by-envoy') ||
      (claim === 'istio-drops-patches' && pipeline.outcome !== 'dropped-by-istio') ||
      (claim === 'istio-drops' && (pipeline.outcome === 'rejected-by-istio' || pipeline.dropped.length === 0));
    if (contradicted) {
      out.push({ id, category: 'denial-claim-contradicted', detail: `claims ${claim}, pipeline: ${pipeline.outcome}${pipeline.istio.error ? ` (${pipeline.istio.error})` : ''}: ${show(denial)}` });
      break;
    }
  }
  if (webhook.allowed && pipeline.outcome === 'accepted') {
    for (const [site, effective] of pipeline.effective) {
      const judged = webhook.judged.get(site);
      const differs = judged === undefined ? ['no judged mode'] : Object.keys(effective).filter((k) => judged[k as keyof Mode] !== effective[k as keyof Mode]);
      if (differs.length > 0) {
        out.push({ id, category: 'mode-differs', detail: `${site}: ${differs.map((k) => `${k} judged ${judged?.[k as keyof Mode]} runs ${effective[k as keyof Mode]}`).join(', ')}` });
      }
    }
  }
  const differs = reasonDiffers(denials, pipeline);
  if (differs !== undefined) out.push({ id, category: 'envoy-reason-differs', detail: differs });
  for (const field of pipeline.dropped) {
    if (!webhook.findings.some((f) => f.message.includes(field) || f.path.includes(field))) {
      out.push({ id, category: 'dropped-field-unnamed', detail: `istiod drops ${field}` });
    }
  }
  return out;
}

/** Why istiod's push drops the gateway's listener patches: the merge it failed. */
function droppedBecause(pipeline: PipelineVerdict): string {
  const failed = pipeline.istio.patches.find((p) => p.mergeError !== undefined);
  return `configPatches[${failed?.index}]: istiod's merge into its InferencePool ext_proc filter fails: ${failed?.mergeError}`;
}
