import { hasDefaultClusterCredentials } from '../cluster/cluster-credentials.ts';
import { KubeConfigError } from '../cluster/kubeconfig-error.ts';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { DEFAULT_CA_VALIDITY_DAYS } from '../certs/serving-bundle.ts';
import type { CommandIo } from './certs.ts';
import { usageErrorText } from './usage-error.ts';

const DEFAULT_SERVING_DAYS = 90;

const USAGE = `Usage: epp-webhook bootstrap-certs [options]

Installs and rotates the webhook's certificates in a cluster (deploy/overlays/self-signed runs it as a Job
at install and as a weekly CronJob). Idempotent: run it as often as you like.

  - no CA Secret: creates a CA (Secret --ca-secret: ca.crt, ca.key; the webhook pods never mount it);
  - no serving Secret, or its certificate expires within --renew-before, is not signed by the CA, or names other
    hosts: issues one (Secret --secret, type kubernetes.io/tls: tls.crt, tls.key, ca.crt);
  - the CA expires within --renew-before (or before a new serving certificate would): a new CA, with an overlap:
    caBundle = new CA + old CA is patched *before* the serving Secret changes, so whichever certificate a pod
    presents while it reloads is trusted; the old CA leaves caBundle on a run --overlap after the Secret changed;
  - always: caBundle of every webhook in both configurations is patched when missing or different.

Options:
  --namespace NS                          namespace of the Secrets and the Service (default: epp-webhook)
  --secret NAME                           serving Secret (default: epp-webhook-tls)
  --ca-secret NAME                        CA Secret (default: epp-webhook-ca)
  --service NAME                          webhook Service; its DNS names go in the certificate (default: epp-webhook)
  --dns NAME                              extra DNS name in the certificate (repeatable)
  --ip IP                                 extra IP address in the certificate (repeatable)
  --mutating-webhook-configuration NAME   (default: epp-webhook)
  --validating-webhook-configuration NAME (default: epp-webhook)
  --renew-before DURATION                 renew certificates expiring within this (default: 30d)
  --days N                                serving certificate lifetime in days (default: ${DEFAULT_SERVING_DAYS})
  --ca-days N                             lifetime of a new CA in days (default: ${DEFAULT_CA_VALIDITY_DAYS})
  --overlap DURATION                      keep the previous CA trusted this long after the serving Secret
                                          changed (default: 1h; pods see a renewed Secret within about 1-2 min)
  --wait DURATION                         wait this long for the webhook configurations to exist (default: 60s)
  --create-only                           only create a missing CA or serving Secret; never renew, rotate or touch
                                          the webhook configurations (the Helm chart's pre-install hook: the pods
                                          need the Secret before Helm --wait lets the caBundle hook run)
  --kubeconfig FILE                       (default: KUBECONFIG, then ~/.kube/config, then the in-cluster service account)
  -h, --help                              show this help

DURATION: a number with a unit, d, h, m or s (30d, 720h, 90s); a bare number is days.
Exit status: 0 done (changed or not), 1 the API refused or failed, 2 bad usage or a kubeconfig it cannot load.
`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_NAME = /^(\*\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

class UsageError extends Error {}

export interface BootstrapCertsFlags {
  namespace: string;
  secret: string;
  caSecret: string;
  service: string;
  dns: string[];
  ip: string[];
  mutating: string;
  validating: string;
  renewBeforeMs: number;
  days: number;
  caDays: number;
  overlapMs: number;
  waitMs: number;
  createOnly: boolean;
  kubeconfig: string | undefined;
}

/** `epp-webhook bootstrap-certs`: returns the exit code. */
export async function runBootstrapCertsCommand(argv: string[], io: CommandIo): Promise<number> {
  let flags: BootstrapCertsFlags | 'help';
  try {
    flags = parseBootstrapCertsFlags(argv);
  } catch (error) {
    io.stderr.write(usageErrorText('bootstrap-certs', (error as Error).message));
    return 2;
  }
  if (flags === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }

  const log = (line: string) => io.stdout.write(`epp-webhook bootstrap-certs: ${line}\n`);
  try {
    // client-node is large: loaded only by the commands that talk to a cluster.
    if (flags.kubeconfig === undefined && !hasDefaultClusterCredentials()) {
      io.stderr.write(usageErrorText('bootstrap-certs', 'no cluster to write to: pass --kubeconfig FILE, set KUBECONFIG, or run it in the cluster (the chart and deploy/overlays/self-signed run it as a Job)'));
      return 2;
    }
    const { loadKubeConfig } = await import('../cluster/load-kubeconfig.ts');
    const { reconcileClusterCertificates } = await import('../certs/cluster-certificates.ts');
    const kubeConfig = loadKubeConfig(flags.kubeconfig);
    const server = kubeConfig.getCurrentCluster()?.server;
    if (server === undefined) throw new Error(`kubeconfig ${flags.kubeconfig ?? '(default)'} has no current cluster`);
    log(`API server ${server}; Secrets ${flags.namespace}/${flags.secret} and ${flags.namespace}/${flags.caSecret}${flags.createOnly ? ' (create-only)' : `; MutatingWebhookConfiguration ${flags.mutating}, ValidatingWebhookConfiguration ${flags.validating}`}`);

    const serviceNames = [flags.service, `${flags.service}.${flags.namespace}`, `${flags.service}.${flags.namespace}.svc`, `${flags.service}.${flags.namespace}.svc.cluster.local`];
    const result = await reconcileClusterCertificates(kubeConfig, {
      namespace: flags.namespace,
      secretName: flags.secret,
      caSecretName: flags.caSecret,
      mutatingWebhookConfiguration: flags.mutating,
      validatingWebhookConfiguration: flags.validating,
      waitForConfigurationsMs: flags.waitMs,
      createOnly: flags.createOnly,
      log,
      policy: {
        renewBeforeMs: flags.renewBeforeMs,
        servingValidityDays: flags.days,
        caValidityDays: flags.caDays,
        overlapMs: flags.overlapMs,
        commonName: `${flags.service}.${flags.namespace}.svc`,
        dnsNames: [...new Set([...serviceNames, ...flags.dns])],
        ipAddresses: [...new Set(flags.ip)],
      },
    });
    log(result.changed ? `done: caBundle trusts ${result.bundleFingerprints.length} CA(s), SHA-256 ${result.bundleFingerprints.join(' ')}` : 'done: everything was up to date, nothing written');
    return 0;
  } catch (error) {
    io.stderr.write(`epp-webhook bootstrap-certs: ${(error as Error).message}\n`);
    // As serve, check and render answer a kubeconfig they cannot use.
    return error instanceof KubeConfigError ? 2 : 1;
  }
}

export function parseBootstrapCertsFlags(argv: string[]): BootstrapCertsFlags | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      namespace: { type: 'string', default: 'epp-webhook' },
      secret: { type: 'string', default: 'epp-webhook-tls' },
      'ca-secret': { type: 'string', default: 'epp-webhook-ca' },
      service: { type: 'string', default: 'epp-webhook' },
      dns: { type: 'string', multiple: true, default: [] },
      ip: { type: 'string', multiple: true, default: [] },
      'mutating-webhook-configuration': { type: 'string', default: 'epp-webhook' },
      'validating-webhook-configuration': { type: 'string', default: 'epp-webhook' },
      'renew-before': { type: 'string', default: '30d' },
      days: { type: 'string', default: String(DEFAULT_SERVING_DAYS) },
      'ca-days': { type: 'string', default: String(DEFAULT_CA_VALIDITY_DAYS) },
      overlap: { type: 'string', default: '1h' },
      wait: { type: 'string', default: '60s' },
      'create-only': { type: 'boolean', default: false },
      kubeconfig: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  for (const flag of ['namespace', 'secret', 'ca-secret', 'service'] as const) {
    if (!DNS_LABEL.test(values[flag])) throw new UsageError(`--${flag} ${JSON.stringify(values[flag])} is not a valid Kubernetes name (lowercase RFC 1123 label)`);
  }
  for (const flag of ['mutating-webhook-configuration', 'validating-webhook-configuration'] as const) {
    if (!DNS_NAME.test(values[flag]) || values[flag].length > 253) throw new UsageError(`--${flag} ${JSON.stringify(values[flag])} is not a valid object name`);
  }
  const badDns = values.dns.find((name) => !DNS_NAME.test(name) || name.length > 253);
  if (badDns !== undefined) throw new UsageError(`--dns ${JSON.stringify(badDns)} is not a valid DNS name`);
  const badIp = values.ip.find((ip) => isIP(ip) === 0);
  if (badIp !== undefined) throw new UsageError(`--ip ${JSON.stringify(badIp)} is not an IPv4 or IPv6 address`);
  const days = wholeDays(values.days, '--days');
  const caDays = wholeDays(values['ca-days'], '--ca-days');
  const renewBeforeMs = durationMs(values['renew-before'], '--renew-before');
  // A --renew-before longer than the lifetimes is allowed on purpose: every run then renews, which is how to rotate now.
  return {
    namespace: values.namespace,
    secret: values.secret,
    caSecret: values['ca-secret'],
    service: values.service,
    dns: values.dns,
    ip: values.ip,
    mutating: values['mutating-webhook-configuration'],
    validating: values['validating-webhook-configuration'],
    renewBeforeMs,
    days,
    caDays,
    overlapMs: durationMs(values.overlap, '--overlap'),
    waitMs: durationMs(values.wait, '--wait'),
    createOnly: values['create-only'],
    kubeconfig: values.kubeconfig,
  };
}

function wholeDays(text: string, flag: string): number {
  const days = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(days) || days < 1) throw new UsageError(`${flag} must be a whole number of days, at least 1 (got ${JSON.stringify(text)})`);
  return days;
}

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/** `30d`, `720h`, `90m`, `0s`, or a bare number of days. */
export function durationMs(text: string, flag: string): number {
  const match = /^([0-9]+)([dhms]?)$/.exec(text);
  if (match === null) throw new UsageError(`${flag} must be a duration such as 30d, 720h, 90m or 0s (got ${JSON.stringify(text)})`);
  const ms = Number(match[1]) * UNIT_MS[match[2] || 'd'];
  if (!Number.isSafeInteger(ms)) throw new UsageError(`${flag} ${JSON.stringify(text)} is too large`);
  return ms;
}
