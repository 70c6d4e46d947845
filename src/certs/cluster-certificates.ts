import { X509Certificate } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Secret,
} from '@kubernetes/client-node';
import { certificateFingerprint, joinPemCertificates, sameCertificates, splitPemCertificates } from './ca-bundle.ts';
import { describe, planCertificates, type CurrentCertificates, type NextCertificates, type RotationPolicy } from './certificate-rotation.ts';

/**
 * `bootstrap-certs` against the API server: reads the two Secrets and the two webhook configurations, plans with
 * planCertificates, and writes in the order that keeps every admission answerable:
 *   1. the CA Secret (a new CA is only stored, nothing trusts or uses it yet);
 *   2. caBundle of every webhook (now trusting the new CA *and* the CA of the certificate pods present);
 *   3. the serving Secret (pods reload it within a minute or two, by then the API server trusts its CA).
 * A crash between steps leaves a state the next run completes. Writes use optimistic concurrency (create, or replace
 * with the resourceVersion read); a conflict with a concurrent run starts over from fresh reads.
 */

export interface ClusterCertificateOptions {
  namespace: string;
  /** Serving Secret (tls.crt, tls.key, ca.crt), mounted by the webhook pods. */
  secretName: string;
  /** CA Secret (ca.crt, ca.key), read by this command only. */
  caSecretName: string;
  mutatingWebhookConfiguration: string;
  validatingWebhookConfiguration: string;
  policy: RotationPolicy;
  /** How long to wait for the webhook configurations to exist (they may be applied together with the Job). */
  waitForConfigurationsMs: number;
  /**
   * Only create what is missing, before the webhook configurations exist (a Helm pre-install hook, so the pods find
   * their Secret): never renew or rotate, never read or patch a configuration. A later full run installs caBundle.
   */
  createOnly?: boolean;
  log: (line: string) => void;
  now?: () => Date;
}

export interface ClusterCertificateResult {
  caCreated: boolean;
  servingIssued: boolean;
  /** Names of the configurations whose caBundle was patched. */
  patched: string[];
  bundleFingerprints: string[];
  changed: boolean;
}

export const FIELD_MANAGER = 'epp-webhook-bootstrap-certs';
export const ISSUED_AT_ANNOTATION = 'epp-webhook.io/issued-at';
/** SHA-256 fingerprints (comma-separated) of the CA(s) that signed the certificate the Secret's one replaced. */
export const PREVIOUS_ISSUERS_ANNOTATION = 'epp-webhook.io/previous-issuers';
const MAX_ATTEMPTS = 5;

type ConfigurationKind = 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration';
interface WebhookConfiguration {
  kind: ConfigurationKind;
  name: string;
  webhooks: { name: string; caBundle: string }[];
}

export class ConflictError extends Error {
  override name = 'ConflictError';
}

export async function reconcileClusterCertificates(kubeConfig: KubeConfig, options: ClusterCertificateOptions): Promise<ClusterCertificateResult> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const admission = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  for (let attempt = 1; ; attempt++) {
    try {
      return await reconcileOnce(core, admission, options);
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= MAX_ATTEMPTS) throw error;
      options.log(`${error.message}; another writer changed it, starting over from fresh reads (attempt ${attempt + 1} of ${MAX_ATTEMPTS})`);
      await sleep(200 * attempt);
    }
  }
}

async function reconcileOnce(core: CoreV1Api, admission: AdmissionregistrationV1Api, options: ClusterCertificateOptions): Promise<ClusterCertificateResult> {
  const { namespace, log } = options;
  const caSecret = await readSecret(core, namespace, options.caSecretName);
  const servingSecret = await readSecret(core, namespace, options.secretName);
  const unchanged = { caCreated: false, servingIssued: false, patched: [], bundleFingerprints: [], changed: false };
  if (options.createOnly && servingSecret !== undefined) {
    // Replacing a Secret pods may present from needs caBundle first: only a full run does that.
    log(`create-only: Secret ${namespace}/${options.secretName} exists; renewal and caBundle are left to a full run`);
    return unchanged;
  }
  const configurations = options.createOnly ? [] : await waitForConfigurations(admission, options);

  const now = (options.now ?? (() => new Date()))();
  const current: CurrentCertificates = {
    ca: secretPair(caSecret, 'ca.crt', 'ca.key'),
    serving: servingMaterial(servingSecret),
    caBundles: configurations.flatMap((c) => c.webhooks.map((w) => w.caBundle)),
  };
  const next = planCertificates(current, options.policy, now);
  if (options.createOnly && caSecret !== undefined && next.caChanged) {
    // A new CA must be in caBundle before anything presents a certificate it signed: only a full run can do that.
    log(`create-only: the CA would be replaced (${next.caReason}), which needs caBundle first; left to a full run`);
    return unchanged;
  }

  // 1. The CA Secret.
  if (next.caChanged) {
    log(`CA: creating a new one (${next.caReason})`);
    await writeSecret(core, namespace, options.caSecretName, caSecret, {
      type: 'Opaque',
      data: { 'ca.crt': next.ca.certPem, 'ca.key': next.ca.keyPem },
    });
    log(`CA: wrote Secret ${namespace}/${options.caSecretName}: ${describe(next.ca.certPem)}`);
  } else {
    log(`CA: kept, ${next.caReason}`);
  }

  // 2. caBundle, before the serving certificate changes.
  if (!options.createOnly) for (const reason of next.keptReasons) log(`caBundle: keeping ${reason}`);
  const patched: string[] = [];
  const bundleBase64 = Buffer.from(joinPemCertificates(next.bundle)).toString('base64');
  for (const configuration of configurations) {
    const stale = configuration.webhooks.filter((w) => !sameCertificates(splitPemCertificates(w.caBundle), next.bundle));
    if (stale.length === 0) continue;
    await patchCaBundle(admission, configuration, bundleBase64);
    patched.push(`${configuration.kind} ${configuration.name}`);
    log(`caBundle: patched ${configuration.kind} ${configuration.name} (${configuration.webhooks.map((w) => w.name).join(', ')}): ${next.bundle.length} CA${next.bundle.length === 1 ? '' : 's'}`);
  }
  if (options.createOnly) log('caBundle: not touched (create-only)');
  else if (patched.length === 0) log(`caBundle: every webhook already trusts exactly ${next.bundle.length === 1 ? 'the CA' : `these ${next.bundle.length} CAs`}`);

  // 3. The serving Secret.
  const servingCaStale = servingSecret !== undefined && decoded(servingSecret, 'ca.crt') !== next.ca.certPem;
  if (next.servingChanged || servingCaStale) {
    if (next.servingChanged) log(`serving certificate: issuing a new one (${next.servingReason})`);
    await writeSecret(core, namespace, options.secretName, servingSecret, {
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': next.serving.certPem, 'tls.key': next.serving.keyPem, 'ca.crt': next.ca.certPem },
      annotations: next.servingChanged
        ? { [ISSUED_AT_ANNOTATION]: now.toISOString(), [PREVIOUS_ISSUERS_ANNOTATION]: next.previousIssuers.join(',') }
        : { [ISSUED_AT_ANNOTATION]: servingSecret?.metadata?.annotations?.[ISSUED_AT_ANNOTATION] ?? now.toISOString() },
    });
    log(
      `serving certificate: wrote Secret ${namespace}/${options.secretName}` +
        (next.servingChanged ? ` (${[...options.policy.dnsNames, ...options.policy.ipAddresses].join(', ')}; expires ${expiryOf(next.serving.certPem)})` : ' (ca.crt only)') +
        '; webhook pods reload it from the Secret volume within about a minute, without a restart',
    );
  } else {
    log(`serving certificate: kept, ${next.servingReason}`);
  }

  return {
    caCreated: next.caChanged,
    servingIssued: next.servingChanged,
    patched,
    bundleFingerprints: next.bundle.map(certificateFingerprint),
    changed: next.caChanged || next.servingChanged || servingCaStale || patched.length > 0,
  };
}

function expiryOf(pem: string): string {
  return new X509Certificate(pem).validToDate.toISOString();
}

async function readSecret(core: CoreV1Api, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ name, namespace });
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw apiError(error, `read Secret ${namespace}/${name}`);
  }
}

interface SecretContent {
  type: string;
  data: Record<string, string>;
  annotations?: Record<string, string>;
}

async function writeSecret(core: CoreV1Api, namespace: string, name: string, existing: V1Secret | undefined, content: SecretContent): Promise<void> {
  const data = Object.fromEntries(Object.entries(content.data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
  const labels = { 'app.kubernetes.io/name': 'epp-webhook', 'app.kubernetes.io/part-of': 'epp-webhook', 'app.kubernetes.io/managed-by': FIELD_MANAGER };
  if (existing === undefined) {
    try {
      await core.createNamespacedSecret({
        namespace,
        fieldManager: FIELD_MANAGER,
        body: { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels, annotations: content.annotations }, type: content.type, data },
      });
    } catch (error) {
      if (statusOf(error) === 409) throw new ConflictError(`Secret ${namespace}/${name} was created meanwhile`);
      throw apiError(error, `create Secret ${namespace}/${name}`);
    }
    return;
  }
  if ((existing.type ?? 'Opaque') !== content.type) {
    throw new Error(`Secret ${namespace}/${name} has type ${existing.type ?? 'Opaque'}, not ${content.type}; a Secret's type cannot change: delete it (kubectl delete secret -n ${namespace} ${name}) and run again`);
  }
  try {
    await core.replaceNamespacedSecret({
      name,
      namespace,
      fieldManager: FIELD_MANAGER,
      body: {
        ...existing,
        metadata: {
          ...existing.metadata,
          labels: { ...existing.metadata?.labels, ...labels },
          annotations: { ...existing.metadata?.annotations, ...content.annotations },
          managedFields: undefined,
        },
        type: content.type,
        data,
        stringData: undefined,
      },
    });
  } catch (error) {
    if (statusOf(error) === 409) throw new ConflictError(`Secret ${namespace}/${name} changed since it was read`);
    throw apiError(error, `update Secret ${namespace}/${name}`);
  }
}

async function waitForConfigurations(admission: AdmissionregistrationV1Api, options: ClusterCertificateOptions): Promise<WebhookConfiguration[]> {
  const deadline = Date.now() + options.waitForConfigurationsMs;
  const wanted: [ConfigurationKind, string][] = [
    ['MutatingWebhookConfiguration', options.mutatingWebhookConfiguration],
    ['ValidatingWebhookConfiguration', options.validatingWebhookConfiguration],
  ];
  const found: WebhookConfiguration[] = [];
  for (const [kind, name] of wanted) {
    let announced = false;
    for (;;) {
      const configuration = await readConfiguration(admission, kind, name);
      if (configuration !== undefined) {
        found.push(configuration);
        break;
      }
      if (Date.now() >= deadline) {
        throw new Error(`${kind} ${name} not found${options.waitForConfigurationsMs > 0 ? ` after waiting ${Math.round(options.waitForConfigurationsMs / 1000)} s` : ''}: apply the webhook configurations first (kubectl apply -k deploy/overlays/self-signed)`);
      }
      if (!announced) options.log(`waiting for ${kind} ${name} to exist (up to ${Math.round(options.waitForConfigurationsMs / 1000)} s)`);
      announced = true;
      await sleep(Math.min(2000, Math.max(0, deadline - Date.now())));
    }
  }
  return found;
}

async function readConfiguration(admission: AdmissionregistrationV1Api, kind: ConfigurationKind, name: string): Promise<WebhookConfiguration | undefined> {
  try {
    const object =
      kind === 'MutatingWebhookConfiguration'
        ? await admission.readMutatingWebhookConfiguration({ name })
        : await admission.readValidatingWebhookConfiguration({ name });
    return {
      kind,
      name,
      webhooks: (object.webhooks ?? []).map((webhook) => ({
        name: webhook.name,
        // client-node decodes the `byte` field to a string already (base64 in JSON, text here).
        caBundle: caBundleText(webhook.clientConfig?.caBundle),
      })),
    };
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw apiError(error, `read ${kind} ${name}`);
  }
}

async function patchCaBundle(admission: AdmissionregistrationV1Api, configuration: WebhookConfiguration, bundleBase64: string): Promise<void> {
  // Index-addressed, so each index is tested to still hold the webhook read; only caBundle is written, so this
  // field manager owns nothing else and a later `kubectl apply` of the configuration leaves caBundle alone.
  const body = configuration.webhooks.flatMap((webhook, i) => [
    { op: 'test', path: `/webhooks/${i}/name`, value: webhook.name },
    { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: bundleBase64 },
  ]);
  const options = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  const { name, kind } = configuration;
  try {
    if (kind === 'MutatingWebhookConfiguration') await admission.patchMutatingWebhookConfiguration({ name, body, fieldManager: FIELD_MANAGER }, options);
    else await admission.patchValidatingWebhookConfiguration({ name, body, fieldManager: FIELD_MANAGER }, options);
  } catch (error) {
    const status = statusOf(error);
    // A failed `test` (the webhooks changed since the read) is answered 422 by the API server.
    if (status === 409 || (status === 422 && /test/i.test(messageOf(error)))) throw new ConflictError(`${kind} ${name} changed since it was read`);
    throw apiError(error, `patch caBundle of ${kind} ${name}`);
  }
}

function caBundleText(value: unknown): string {
  if (value === undefined || value === null || value === '') return '';
  const text = String(value);
  // The API's JSON carries base64; depending on the client's deserialization it arrives decoded or not.
  if (text.includes('-----BEGIN')) return text;
  return Buffer.from(text, 'base64').toString('utf8');
}

function secretPair(secret: V1Secret | undefined, certKey: string, keyKey: string) {
  const certPem = decoded(secret, certKey);
  const keyPem = decoded(secret, keyKey);
  return certPem !== undefined && keyPem !== undefined ? { certPem, keyPem } : undefined;
}

function servingMaterial(secret: V1Secret | undefined): CurrentCertificates['serving'] {
  const pair = secretPair(secret, 'tls.crt', 'tls.key');
  if (pair === undefined) return undefined;
  const annotations = secret?.metadata?.annotations ?? {};
  const issuedAt = annotations[ISSUED_AT_ANNOTATION];
  const parsed = issuedAt === undefined ? undefined : new Date(issuedAt);
  const previousIssuers = annotations[PREVIOUS_ISSUERS_ANNOTATION];
  return {
    ...pair,
    caPem: decoded(secret, 'ca.crt'),
    issuedAt: parsed !== undefined && !Number.isNaN(parsed.getTime()) ? parsed : undefined,
    previousIssuers: previousIssuers === undefined ? undefined : previousIssuers.split(',').filter((f) => f !== ''),
  };
}

function decoded(secret: V1Secret | undefined, key: string): string | undefined {
  const value = secret?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as unknown;
    if (typeof body === 'string') {
      try {
        return String((JSON.parse(body) as { message?: unknown }).message ?? body);
      } catch {
        return body;
      }
    }
    if (body !== null && typeof body === 'object' && 'message' in body) return String((body as { message: unknown }).message);
  }
  return (error as Error).message;
}

function apiError(error: unknown, action: string): Error {
  const status = statusOf(error);
  const hint =
    status === 403
      ? ' (forbidden: the bootstrap identity may only get/update Secrets epp-webhook-tls and epp-webhook-ca, create Secrets in its namespace, and get/patch the epp-webhook webhook configurations; see deploy/overlays/self-signed/bootstrap-rbac.yaml)'
      : '';
  return new Error(`cannot ${action}: ${status === undefined ? '' : `HTTP ${status}: `}${messageOf(error)}${hint}`);
}

export type { NextCertificates };
