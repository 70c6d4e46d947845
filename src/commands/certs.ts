import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { DEFAULT_SERVING_VALIDITY_DAYS, writeServingBundle, type ServingBundle } from '../certs/serving-bundle.ts';
import { usageErrorText } from './usage-error.ts';

export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const USAGE = `Usage: epp-webhook certs [options]

Issues a serving certificate for the webhook Service, signed by a CA kept in the output
directory (created on first run, reused after, so an installed caBundle stays valid).
Writes ca.crt, ca.key, tls.crt and tls.key.

Options:
  --out DIR          output directory (default: certs)
  --service NAME     webhook Service name (default: epp-webhook)
  --namespace NS     webhook Service namespace (default: epp-webhook)
  --dns NAME         extra DNS name in the certificate (repeatable)
  --ip IP            extra IP address in the certificate (repeatable; 127.0.0.1 and ::1 are always in)
  --days N           serving certificate lifetime in days (default: ${DEFAULT_SERVING_VALIDITY_DAYS})
  -h, --help         show this help
`;

// RFC 1123 label, what Kubernetes accepts as a Service or namespace name.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// RFC 1123 subdomain, optionally with a leading wildcard label.
const DNS_NAME = /^(\*\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

/** `epp-webhook certs`: returns the exit code (0 ok, 1 could not write, 2 bad usage). */
export async function runCertsCommand(argv: string[], io: CommandIo): Promise<number> {
  let values: CertsFlags;
  try {
    values = parseCertsFlags(argv);
  } catch (error) {
    return usageError(io, (error as Error).message);
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }

  for (const flag of ['service', 'namespace'] as const) {
    if (!DNS_LABEL.test(values[flag])) {
      return usageError(io, `--${flag} ${JSON.stringify(values[flag])} is not a valid Kubernetes name (lowercase RFC 1123 label)`);
    }
  }
  const badDns = values.dns.find((name) => !DNS_NAME.test(name) || name.length > 253);
  if (badDns !== undefined) return usageError(io, `--dns ${JSON.stringify(badDns)} is not a valid DNS name`);
  const badIp = values.ip.find((ip) => isIP(ip) === 0);
  if (badIp !== undefined) return usageError(io, `--ip ${JSON.stringify(badIp)} is not an IPv4 or IPv6 address`);
  const days = values.days === undefined ? DEFAULT_SERVING_VALIDITY_DAYS : Number(values.days);
  if (!Number.isSafeInteger(days) || days < 1 || !/^[0-9]+$/.test(values.days ?? '1')) {
    return usageError(io, `--days must be a whole number of days, at least 1 (got ${JSON.stringify(values.days)})`);
  }

  let bundle: ServingBundle;
  try {
    bundle = writeServingBundle(values.out, {
      serviceName: values.service,
      namespace: values.namespace,
      extraDnsNames: values.dns,
      ipAddresses: values.ip,
      validityDays: days,
    });
  } catch (error) {
    io.stderr.write(`epp-webhook certs: cannot write certificates to ${values.out}: ${(error as Error).message}\n`);
    return 1;
  }

  const caState = bundle.caCreated ? 'created' : 'reused the existing';
  io.stdout.write(
    [
      `${caState} CA ${bundle.caCertFile} (key ${bundle.caKeyFile}), expires ${bundle.caNotAfter.toISOString()}`,
      `wrote serving certificate ${bundle.certFile} (key ${bundle.keyFile}), expires ${bundle.notAfter.toISOString()}`,
      `  DNS: ${bundle.dnsNames.join(', ')}`,
      `  IP:  ${bundle.ipAddresses.join(', ')}`,
      `the webhook configuration's caBundle is the base64 of ${bundle.caCertFile}`,
      '',
    ].join('\n'),
  );
  return 0;
}

type CertsFlags = ReturnType<typeof parseCertsFlags>;

function parseCertsFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      out: { type: 'string', default: 'certs' },
      service: { type: 'string', default: 'epp-webhook' },
      namespace: { type: 'string', default: 'epp-webhook' },
      dns: { type: 'string', multiple: true, default: [] },
      ip: { type: 'string', multiple: true, default: [] },
      days: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
}

function usageError(io: CommandIo, message: string): number {
  io.stderr.write(usageErrorText('certs', message));
  return 2;
}
