import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const MANIFESTS = new URL('../../test/fixtures/manifests/', import.meta.url).pathname;
/** The EPP ClusterIP of test/fixtures/manifests/services.yaml, which the server child serves Services from. */
export const EPP_CLUSTER_IP = '10.96.183.7';

export type WebhookCaseId = 'mutate-envoyfilter' | 'validate-envoyfilter' | 'mutate-httproute';
/**
 * Each webhook case has a floor twin, `floor/<case>`, that parses the very same body, and a ceiling twin,
 * `ceiling/<case>` (measured with --ceiling only): the webhook server answering the same body with the core's answer
 * computed once, i.e. the most the webhook could reach if its rules cost nothing.
 */
export type CaseId = WebhookCaseId | `floor/${WebhookCaseId}` | `ceiling/${WebhookCaseId}`;

export interface BenchCase {
  id: CaseId;
  /** The webhook case this one is the floor (or the ceiling) of; undefined for webhook cases. */
  floorOf?: WebhookCaseId;
  ceilingOf?: WebhookCaseId;
  title: string;
  server: 'floor' | 'webhook' | 'ceiling';
  path: string;
  body: string;
  /** Checks one real answer before the load starts: the bench measures the answer the apiserver would get. */
  check(answer: any): string | undefined;
}

type Json = Record<string, any>;

function manifest(name: string): Json {
  return parse(readFileSync(`${MANIFESTS}${name}`, 'utf8'));
}

/**
 * managedFields as the apiserver writes them for a server-side apply: a fieldsV1 set mirroring the object's keys
 * (lists by index approximated as `i:`), so the request body carries the bytes a real admission request carries.
 */
function fieldsV1(value: unknown): unknown {
  if (Array.isArray(value)) return Object.fromEntries(value.map((item, i) => [`i:${i}`, fieldsV1(item)]));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries([['.', {}], ...Object.entries(value).map(([k, v]) => [`f:${k}`, fieldsV1(v)])]);
  }
  return {};
}

/** The object as the apiserver hands it to admission on CREATE: uid, timestamps, generation and managedFields set. */
function asAdmitted(object: Json): Json {
  const { metadata, ...rest } = structuredClone(object);
  const applied = { metadata: { annotations: metadata.annotations, labels: metadata.labels }, ...rest };
  return {
    ...rest,
    metadata: {
      ...metadata,
      uid: randomUUID(),
      generation: 1,
      creationTimestamp: '2025-11-26T03:00:00Z',
      managedFields: [
        {
          manager: 'kubectl',
          operation: 'Apply',
          apiVersion: object.apiVersion,
          time: '2025-11-26T03:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: fieldsV1(JSON.parse(JSON.stringify(applied))),
        },
      ],
    },
  };
}

/** An AdmissionReview v1 request as kube-apiserver sends it for a server-side apply that creates the object. */
export function admissionReview(object: Json): Json {
  const [group, version] = object.apiVersion.split('/');
  const resource = `${object.kind.toLowerCase()}s`;
  return {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: randomUUID(),
      kind: { group, version, kind: object.kind },
      resource: { group, version, resource },
      requestKind: { group, version, kind: object.kind },
      requestResource: { group, version, resource },
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:argocd:argocd-application-controller', uid: randomUUID(), groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd', 'system:authenticated'] },
      object: asAdmitted(object),
      oldObject: null,
      dryRun: false,
      options: { kind: 'PatchOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl', force: true },
    },
  };
}

/** Replaces the token everywhere, as the mutating webhook leaves the object for the validating one. */
function substituted(object: Json): Json {
  const text = JSON.stringify(object).replaceAll('EPP_SERVICE_CLUSTER_IP', EPP_CLUSTER_IP);
  const result = JSON.parse(text);
  result.metadata.annotations = {
    ...result.metadata.annotations,
    'epp-webhook.io/resolved-service': `${object.metadata.namespace}/gaie-inference-scheduling-epp`,
    'epp-webhook.io/resolved-cluster-ip': EPP_CLUSTER_IP,
    'epp-webhook.io/placeholder-paths': JSON.stringify(['/spec/configPatches/1/patch/value/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/address']),
  };
  return result;
}

/** An HTTPRoute with `rules` rules, each to an InferencePool, each with its own match and a header filter. */
export function inferenceRoute(rules: number): Json {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'llm-d-inference-scheduling', namespace: 'llm-d-inference-scheduler', labels: { 'app.kubernetes.io/part-of': 'llm-d' } },
    spec: {
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'infra-inference-scheduling-inference-gateway' }],
      hostnames: ['inference.example.com'],
      rules: Array.from({ length: rules }, (_, i) => ({
        matches: [{ path: { type: 'PathPrefix', value: `/v1/models/model-${i}` }, headers: [{ type: 'Exact', name: 'x-model', value: `model-${i}` }] }],
        filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-gateway', value: 'inference' }] } }],
        backendRefs: [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name: `pool-${i}`, weight: 1 }],
        timeouts: { request: '300s' },
      })),
    },
  };
}

function decodedPatch(answer: any): any[] | undefined {
  const patch = answer?.response?.patch;
  return typeof patch === 'string' ? JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) : undefined;
}

/** The bench case `id`, for a tool's `flag` (named in the error when there is no such case). */
export function benchCase(id: string, flag = '--case'): BenchCase {
  const found = benchCases().find((c) => c.id === id);
  if (found === undefined) throw new Error(`${flag}: unknown case ${id}`);
  return found;
}

export function benchCases(): BenchCase[] {
  const guide = manifest('guide-envoyfilter.yaml');
  const fullDuplex = manifest('full-duplex-envoyfilter.yaml');
  if (fullDuplex.spec.configPatches.length !== 4) throw new Error('full-duplex-envoyfilter.yaml no longer has 4 patches');
  const route = inferenceRoute(8);
  const webhookCases: (BenchCase & { id: WebhookCaseId })[] = [
    {
      id: 'mutate-envoyfilter',
      title: "/mutate guide's EnvoyFilter (token substituted)",
      server: 'webhook',
      path: '/mutate',
      body: JSON.stringify(admissionReview(guide)),
      check(a) {
        const patch = decodedPatch(a);
        if (a?.response?.allowed !== true || patch === undefined) return 'expected allowed with a patch';
        return JSON.stringify(patch).includes(EPP_CLUSTER_IP) ? undefined : 'the patch does not carry the ClusterIP';
      },
    },
    {
      id: 'validate-envoyfilter',
      title: '/validate FULL_DUPLEX EnvoyFilter, 4 patches (substituted)',
      server: 'webhook',
      path: '/validate',
      body: JSON.stringify(admissionReview(substituted(fullDuplex))),
      check: (a) => (a?.response?.allowed === true && a.response.patch === undefined ? undefined : `expected allowed without a patch, got ${JSON.stringify(a?.response)}`),
    },
    {
      id: 'mutate-httproute',
      title: '/mutate HTTPRoute, 8 rules to an InferencePool',
      server: 'webhook',
      path: '/mutate',
      body: JSON.stringify(admissionReview(route)),
      check(a) {
        const patch = decodedPatch(a);
        const injected = (patch ?? []).filter((op) => JSON.stringify(op).includes('ExtensionRef')).length;
        return a?.response?.allowed === true && injected === 8 ? undefined : `expected 8 ExtensionRef injections, got ${injected}`;
      },
    },
  ];
  return webhookCases.flatMap((c): BenchCase[] => [
    {
      id: `floor/${c.id}`,
      floorOf: c.id,
      title: `floor: bare Fastify HTTPS, canned allow, the body of ${c.id}`,
      server: 'floor',
      path: '/floor',
      body: c.body,
      check: (a) => (a?.response?.allowed === true ? undefined : 'the floor did not answer allowed'),
    },
    c,
    { ...c, id: `ceiling/${c.id}`, ceilingOf: c.id, title: `ceiling: the webhook server with the core's answer computed once, the body of ${c.id}`, server: 'ceiling' },
  ]);
}
