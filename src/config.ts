import { readTextFile } from './text-file.ts';
import { parse } from 'yaml';
import { isObject, type JsonObject } from './json-value.ts';
import { isRuleCode, RULES, type Severity, type SeverityOverrides } from './findings.ts';

export interface ExtensionRefTarget {
  group: string;
  kind: string;
  name: string;
}

/** Whether an object in `objectNamespace` may reference a Service (or pool) in `namespace` (EPP103 otherwise). */
export function mayReferenceNamespace(config: WebhookConfig, objectNamespace: string, namespace: string): boolean {
  const allowed = config.allowedServiceNamespaces;
  return namespace === objectNamespace || allowed.includes('*') || allowed.includes(namespace);
}

export interface WebhookConfig {
  /** The token replaced by the EPP Service's ClusterIP. */
  placeholder: string;
  /** The EPP Service used when an EnvoyFilter has no epp-webhook.io/epp-service annotation; namespace empty = the object's own. */
  eppService: { name: string; namespace: string };
  /** Namespaces whose Services any EnvoyFilter may reference by annotation across namespaces; `*` allows all. */
  allowedServiceNamespaces: string[];
  /** The rule-level filter injected into HTTPRoute rules that target an InferencePool (name overridable per route). */
  extensionRef: ExtensionRefTarget;
  /** API groups whose `kind: InferencePool` backendRefs trigger the injection. */
  inferencePoolGroups: string[];
  /** Istio's root namespace (meshConfig.rootNamespace): its EnvoyFilters reach every proxy of the mesh (EPP409). */
  istioRootNamespace: string;
  /** Per-code severity overrides: `{EPP402: off}`. */
  severities: SeverityOverrides;
  /** Largest AdmissionReview body accepted, in bytes; larger gets HTTP 413. */
  maxRequestBytes: number;
  /** Bytes of bodies over 64 KiB (by declared length) and answers over 64 KiB held at once; a request beyond gets 429. */
  maxRequestBytesInFlight: number;
  /** Open connections to the HTTPS port; beyond, a new connection is closed as it is accepted. */
  maxConnections: number;
  /**
   * Deadline for one admission, from the parsed AdmissionReview: a Service lookup that has not answered by then is
   * denied as temporary (EPP104, 503), so the apiserver gets our reason instead of its own timeout (5 s in deploy/).
   */
  admissionTimeoutMs: number;
}

export const DEFAULT_CONFIG: WebhookConfig = {
  placeholder: 'EPP_SERVICE_CLUSTER_IP',
  eppService: { name: 'gaie-inference-scheduling-epp', namespace: '' },
  allowedServiceNamespaces: [],
  extensionRef: { group: 'networking.istio.io', kind: 'EnvoyFilter', name: 'epp-ext-proc' },
  inferencePoolGroups: ['inference.networking.k8s.io', 'inference.networking.x-k8s.io'],
  istioRootNamespace: 'istio-system',
  severities: {},
  // An AdmissionReview of an UPDATE carries the old and the new object, each up to etcd's 3 MiB, plus the envelope.
  maxRequestBytes: 7 * 1024 * 1024,
  // Together, what keeps deploy/'s memory limit (384Mi) out of reach of any client that can connect (docs/reliability.md, fix 14).
  // Bodies over 64 KiB and answers over 64 KiB count in the first (a body can cost ten times its size before its answer
  // is read), and the largest body is always answered, alone; smaller ones, the apiserver's usual, are bounded by the
  // second: 500 connections each sending 63 KB and reading nothing peaked at 298 MB, 1,000 at 423 MB.
  maxRequestBytesInFlight: 8 * 1024 * 1024,
  maxConnections: 500,
  // One second below the webhooks' timeoutSeconds: 5, left for the network, TLS and the queue.
  admissionTimeoutMs: 4000,
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Loads and checks a YAML config file; every problem names the key and the file. */
export function loadConfig(file: string | undefined): WebhookConfig {
  if (file === undefined) return DEFAULT_CONFIG;
  let text: string;
  try {
    text = readTextFile(file);
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${(error as Error).message}`);
  }
  return parseConfig(document ?? {}, file);
}

export function parseConfig(document: unknown, source = 'config'): WebhookConfig {
  const fail = (message: string): never => {
    throw new ConfigError(`${source}: ${message}`);
  };
  if (!isObject(document)) fail('the config must be a YAML mapping of keys to values');
  const input = document as JsonObject;
  rejectUnknownKeys(input, Object.keys(DEFAULT_CONFIG), '', fail);
  const config: WebhookConfig = structuredClone(DEFAULT_CONFIG);

  if (input.placeholder !== undefined) config.placeholder = placeholderToken(input.placeholder, fail);
  if (input.eppService !== undefined) {
    const service = mapping(input.eppService, 'eppService', fail);
    rejectUnknownKeys(service, ['name', 'namespace'], 'eppService.', fail);
    if (service.name !== undefined) config.eppService.name = nonEmptyString(service.name, 'eppService.name', fail);
    if (service.namespace !== undefined) config.eppService.namespace = string(service.namespace, 'eppService.namespace', fail);
  }
  if (input.allowedServiceNamespaces !== undefined) {
    config.allowedServiceNamespaces = stringList(input.allowedServiceNamespaces, 'allowedServiceNamespaces', fail);
  }
  if (input.extensionRef !== undefined) {
    const ref = mapping(input.extensionRef, 'extensionRef', fail);
    rejectUnknownKeys(ref, ['group', 'kind', 'name'], 'extensionRef.', fail);
    for (const key of ['group', 'kind', 'name'] as const) {
      if (ref[key] !== undefined) config.extensionRef[key] = nonEmptyString(ref[key], `extensionRef.${key}`, fail);
    }
  }
  if (input.inferencePoolGroups !== undefined) {
    config.inferencePoolGroups = stringList(input.inferencePoolGroups, 'inferencePoolGroups', fail);
  }
  if (input.istioRootNamespace !== undefined) config.istioRootNamespace = nonEmptyString(input.istioRootNamespace, 'istioRootNamespace', fail);
  if (input.severities !== undefined) config.severities = severities(input.severities, fail);
  if (input.maxRequestBytes !== undefined) config.maxRequestBytes = wholeNumber(input.maxRequestBytes, 'maxRequestBytes', 'bytes', 1024, fail);
  if (input.maxRequestBytesInFlight !== undefined) config.maxRequestBytesInFlight = wholeNumber(input.maxRequestBytesInFlight, 'maxRequestBytesInFlight', 'bytes', 1024, fail);
  if (input.maxConnections !== undefined) config.maxConnections = wholeNumber(input.maxConnections, 'maxConnections', 'connections', 1, fail);
  if (input.admissionTimeoutMs !== undefined) {
    const ms = input.admissionTimeoutMs;
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 100 || ms > 29_000) {
      fail(`admissionTimeoutMs must be a whole number of milliseconds from 100 to 29000, below the webhook's timeoutSeconds (got ${JSON.stringify(ms)})`);
    }
    config.admissionTimeoutMs = ms as number;
  }
  return config;
}

function wholeNumber(value: unknown, key: string, unit: string, minimum: number, fail: (m: string) => never): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum) {
    fail(`${key} must be a whole number of ${unit}, at least ${minimum} (got ${JSON.stringify(value)})`);
  }
  return value as number;
}

/**
 * The token must not be able to occur inside an address it is replaced by: "1" or "a" would be found again in
 * 10.96.1.7 or fd00::a on the next admission and corrupt it. So: an identifier with a letter that is no hex digit.
 */
function placeholderToken(value: unknown, fail: (m: string) => never): string {
  const token = nonEmptyString(value, 'placeholder', fail);
  if (!/^[A-Za-z_][A-Za-z0-9_]{2,}$/.test(token) || !/[G-Zg-z_]/.test(token)) {
    fail(
      `placeholder must be an identifier of 3 or more letters, digits and _ with at least one letter beyond a-f or an _, so it can never occur inside an IP address (got ${JSON.stringify(token)})`,
    );
  }
  return token;
}

function severities(value: unknown, fail: (m: string) => never): SeverityOverrides {
  const input = mapping(value, 'severities', fail);
  const result: SeverityOverrides = {};
  for (const [code, severity] of Object.entries(input)) {
    if (!isRuleCode(code)) fail(`severities: unknown rule code '${code}' (codes are listed in the README)`);
    const rule = RULES[code as keyof typeof RULES];
    if (severity !== 'deny' && severity !== 'warn' && severity !== 'off') {
      fail(`severities.${code} must be deny, warn or off (got ${JSON.stringify(severity)})`);
    }
    if (!rule.relaxable && severity !== 'deny') {
      fail(`severities.${code} cannot be relaxed: ${rule.title}; admitting it would store a broken object`);
    }
    result[code as keyof typeof RULES] = severity as Severity;
  }
  return result;
}

function rejectUnknownKeys(object: JsonObject, known: string[], prefix: string, fail: (m: string) => never): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) fail(`unknown key '${prefix}${key}' (known keys: ${known.map((k) => prefix + k).join(', ')})`);
  }
}

function mapping(value: unknown, key: string, fail: (m: string) => never): JsonObject {
  if (!isObject(value)) fail(`${key} must be a mapping`);
  return value as JsonObject;
}

function string(value: unknown, key: string, fail: (m: string) => never): string {
  if (typeof value !== 'string') fail(`${key} must be a string (got ${JSON.stringify(value)})`);
  return value as string;
}

function nonEmptyString(value: unknown, key: string, fail: (m: string) => never): string {
  if (typeof value !== 'string' || value === '') fail(`${key} must be a non-empty string (got ${JSON.stringify(value)})`);
  return value as string;
}

function stringList(value: unknown, key: string, fail: (m: string) => never): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) {
    fail(`${key} must be a list of non-empty strings (got ${JSON.stringify(value)})`);
  }
  return value as string[];
}
