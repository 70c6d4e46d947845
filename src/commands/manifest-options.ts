import { decodeText } from '../text-file.ts';
import type { ParseArgsOptionsConfig } from 'node:util';
import { loadConfig, type WebhookConfig } from '../config.ts';
import { admitManifests, type AdmittedDocument } from '../manifests/admit-manifests.ts';
import { parseClusterIPOverride } from '../manifests/cluster-ip-overrides.ts';
import { ExcludePatterns } from '../manifests/exclude-patterns.ts';
import { servicesInManifests } from '../manifests/manifest-services.ts';
import { readManifests, type InputProblem, type SkippedInput } from '../manifests/read-manifests.ts';
import { MISSING_POOL_FIX, openPoolSource } from '../manifests/pool-source.ts';
import { openServiceSource, type ServiceSourceOptions } from '../manifests/service-source.ts';

/** The I/O of check and render: `process` in the CLI, captured streams in tests. */
export interface ManifestCommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  stdin: AsyncIterable<string | Uint8Array> & { isTTY?: boolean };
  /** The environment (process.env in the CLI): KUBECONFIG. Tests leave it out, so a developer's cluster is never asked. */
  env?: Record<string, string | undefined>;
}

/** Flags check and render share: where manifests and Services come from, and the webhook's config. */
export const MANIFEST_OPTIONS = {
  config: { type: 'string' },
  services: { type: 'string', multiple: true },
  kubeconfig: { type: 'string' },
  'cluster-ip': { type: 'string', multiple: true, default: [] },
  namespace: { type: 'string', short: 'n', default: 'default' },
  'kube-timeout': { type: 'string', default: '30' },
  exclude: { type: 'string', multiple: true, default: [] },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsOptionsConfig;

export const manifestOptionsHelp = (command: 'check' | 'render') => `Manifests: files, directories (searched recursively for *.yaml, *.yml, *.json; dotfiles,
dot-directories and node_modules skipped) and - for standard input, e.g. kustomize build | epp-webhook ${command} -;
each as an argument or after -f, --filename (repeatable), as kubectl takes them.
YAML documents, or JSON ones, a stream of them too (render -o json | epp-webhook ${command} -).
Without PATH, standard input is read unless it is a terminal. Files that are no Kubernetes manifest
(package.json, a JSON array, a values file) are skipped; Helm templates are named, to be rendered first.

Services, for the EPP_SERVICE_CLUSTER_IP placeholder (without any, every placeholder is reported EPP101);
Services among the manifests are not read (the cluster gives a Service its ClusterIP when it creates it):
  --services FILE       a Service table: a List or multi-document YAML of Services (kubectl get svc -A -o yaml);
                        InferencePools and EnvoyFilters in it are used too (repeatable: the files together)
  --kubeconfig FILE     list Services, InferencePools and EnvoyFilters from this cluster once, read-only.
                        Without --services, --kubeconfig and --cluster-ip: the cluster KUBECONFIG names, if set
InferencePools (epp-webhook.io/inference-pool) and the EnvoyFilters that serve them come from the manifests
themselves first, then from --services or --kubeconfig.
  --kube-timeout SECS   how long that list may take (default 30); a cluster that refuses the connection fails at once
  --cluster-ip NS/NAME=IP[:PORT]
                        a Service's ClusterIP, layered over --services/--kubeconfig (repeatable), and the
                        port EPP_SERVICE_PORT becomes (IPv6: [IP]:PORT); without one its ports are unknown,
                        so port checks (EPP105) are skipped for it

Options:
  --config FILE         webhook config, YAML (severities, placeholder, default EPP Service)
  -n, --namespace NS    namespace of objects without metadata.namespace (default "default")
  --exclude PATTERN     skip matching files and directories (repeatable): a name anywhere (vendor, *.tpl.yaml)
                        or a path from the directory searched (test/fixtures, charts/*/templates)`;

/**
 * The arguments as kubectl's flag library reads them, for Node's parser: `-f FILE` (`--filename`, `-f=FILE`) is a path
 * in its place among the others, and `-o=json`, `-n=ns` are `-o json`, `-n ns` (Node's parser would keep the `=`).
 */
export function kubectlArguments(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (arg === '-f' || arg === '--filename') {
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a file, a directory or - for standard input`);
      out.push(argv[++i]);
    } else if (arg.startsWith('--filename=') || arg.startsWith('-f=')) {
      out.push(arg.slice(arg.indexOf('=') + 1));
    } else if (/^-[A-Za-z]=/.test(arg)) {
      out.push(arg.slice(0, 2), arg.slice(3));
    } else {
      out.push(arg);
    }
  }
  return out;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ManifestSettings {
  paths: string[];
  exclude: ExcludePatterns;
  namespace: string;
  configFile: string | undefined;
  services: ServiceSourceOptions;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

type ManifestValues = {
  config?: string;
  services?: string[];
  kubeconfig?: string;
  'cluster-ip': string[];
  namespace: string;
  'kube-timeout': string;
  exclude: string[];
};

/** Checks the shared flags; throws UsageError with a message that names the flag. */
export function manifestSettings(values: ManifestValues, positionals: string[], io: ManifestCommandIo): ManifestSettings {
  if (values.services !== undefined && values.kubeconfig !== undefined) {
    throw new UsageError('--services and --kubeconfig are alternatives: give one (--cluster-ip overrides layer over either)');
  }
  if (!DNS_LABEL.test(values.namespace)) throw new UsageError(`--namespace ${JSON.stringify(values.namespace)} is not a Kubernetes namespace name`);
  const timeout = Number(values['kube-timeout']);
  if (!/^\d+(\.\d+)?$/.test(values['kube-timeout']) || timeout <= 0) {
    throw new UsageError(`--kube-timeout must be a positive number of seconds (got ${JSON.stringify(values['kube-timeout'])})`);
  }
  let clusterIPs;
  try {
    clusterIPs = values['cluster-ip'].map(parseClusterIPOverride);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  let paths = positionals;
  if (paths.filter((p) => p === '-').length > 1) throw new UsageError('- (standard input) may be given once');
  if (paths.length === 0) {
    if (io.stdin.isTTY) throw new UsageError('give files or directories of manifests, or - to read them from standard input');
    paths = ['-'];
  }
  return {
    paths,
    exclude: new ExcludePatterns(values.exclude),
    namespace: values.namespace,
    configFile: values.config,
    services: {
      services: values.services,
      kubeconfig: values.kubeconfig,
      // As kubectl: KUBECONFIG names the cluster when no flag does. Unset, check stays offline (~/.kube/config is not read).
      kubeconfigFromEnvironment: values.services === undefined && values.kubeconfig === undefined && clusterIPs.length === 0 && !!io.env?.KUBECONFIG,
      clusterIPs,
      kubeTimeoutMs: timeout * 1000,
    },
  };
}

export interface ManifestRun {
  config: WebhookConfig;
  documents: AdmittedDocument[];
  problems: InputProblem[];
  skipped: SkippedInput[];
  files: number;
}

/**
 * Reads the manifests and answers for every EnvoyFilter, HTTPRoute and DestinationRule as the webhook would. Throws ConfigError or
 * ServiceSourceError when the config or the Service source cannot be used.
 */
export async function runManifests(settings: ManifestSettings, io: ManifestCommandIo): Promise<ManifestRun> {
  const config = loadConfig(settings.configFile);
  const input = await readManifests(settings.paths, () => readAll(io.stdin), settings.exclude);
  const source = await openServiceSource(settings.services, servicesInManifests(input.documents, settings.namespace));
  const poolSource = await openPoolSource(
    input.documents.map((d) => d.object),
    settings.namespace,
    settings.services,
  );
  const documents = await admitManifests(input.documents, {
    config,
    resolver: source.resolver,
    defaultNamespace: settings.namespace,
    pools: poolSource.pools,
    envoyFilters: poolSource.envoyFilters,
    missingPoolFix: poolSource.complete ? undefined : MISSING_POOL_FIX,
  });
  return { config, documents, problems: input.problems, skipped: input.skipped, files: input.files };
}

async function readAll(stream: AsyncIterable<string | Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return decodeText(Buffer.concat(chunks));
}
