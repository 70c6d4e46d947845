import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadServicesFile } from '../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { generateCorpus } from './corpus/generate-corpus.ts';
import { NAMESPACE } from './corpus/building-blocks.ts';
import type { CorpusEntry } from './corpus/corpus-entry.ts';
import { CATEGORIES, compare, droppedFields, type Category, type Disagreement, type PipelineVerdict } from './differential.ts';
import { effectiveModes } from './effective-modes.ts';
import { envoyValidator } from './envoy/envoy-validate.ts';
import { gatewayBootstrap } from './envoy/gateway-bootstrap.ts';
import { askIstio } from './istio-oracle.ts';
import { askWebhook, type WebhookVerdict } from './webhook-verdict.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CACHE = process.env.EPP_WEBHOOK_CACHE ?? `${process.env.HOME}/.cache/epp-webhook`;

/** Runs a build/install script of the repo and returns the path it prints as `NAME=/path`. */
export function toolPath(script: string, name: string): string {
  const out = execFileSync('bash', [`${REPO}${script}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const path = out.match(new RegExp(`^${name}=(.+)$`, 'm'))?.[1];
  if (path === undefined) throw new Error(`${script} printed no ${name}=`);
  return path;
}

export interface DifferentialRun {
  entries: CorpusEntry[];
  webhook: Map<string, WebhookVerdict>;
  pipeline: Map<string, PipelineVerdict>;
  disagreements: Disagreement[];
  versions: { istio: string; envoy: string };
  seconds: number;
}

/** Every corpus entry through the webhook core and through istiod -> Envoy; where they disagree. */
export async function runDifferential(entries: CorpusEntry[] = generateCorpus()): Promise<DifferentialRun> {
  const started = performance.now();
  const istioOracle = toolPath('test/oracle/build-istio-oracle.sh', 'ISTIO_ORACLE');
  const envoy = await envoyValidator(toolPath('scripts/install-envoy.sh', 'ENVOY'), `${CACHE}/oracle`);
  const deps = { config: DEFAULT_CONFIG, resolver: loadServicesFile(`${REPO}test/fixtures/manifests/services.yaml`) };

  const webhook = new Map<string, WebhookVerdict>();
  for (const entry of entries) webhook.set(entry.id, await askWebhook(entry.object, NAMESPACE, deps));
  const istio = await askIstio(istioOracle, entries.map((e) => ({ id: e.id, object: webhook.get(e.id)!.stored })));

  const toEnvoy = istio.filter((v) => v.admitted);
  const bootstraps = toEnvoy.map((v) => gatewayBootstrap(v.patches).bootstrap);
  const envoyVerdicts = new Map((await envoy.validate(bootstraps)).map((verdict, i) => [toEnvoy[i].id, verdict]));

  const pipeline = new Map<string, PipelineVerdict>();
  for (const verdict of istio) {
    const envoyVerdict = envoyVerdicts.get(verdict.id);
    const dropped = verdict.patches.some((p) => p.mergeError !== undefined);
    const outcome = !verdict.admitted ? 'rejected-by-istio' : dropped ? 'dropped-by-istio' : envoyVerdict?.ok ? 'accepted' : 'rejected-by-envoy';
    pipeline.set(verdict.id, { outcome, istio: verdict, envoy: envoyVerdict, effective: effectiveModes(verdict.patches), dropped: droppedFields(verdict.warnings) });
  }
  const disagreements = entries.flatMap((e) => compare(e.id, webhook.get(e.id)!, pipeline.get(e.id)!));
  const istioVersion = /istio\.io\/istio (\S+)/.exec(execFileSync('cat', [`${REPO}test/oracle/istio/go.mod`], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  return { entries, webhook, pipeline, disagreements, versions: { istio: istioVersion, envoy: envoy.version }, seconds: (performance.now() - started) / 1000 };
}

export function summary(run: DifferentialRun): string {
  const outcomes: Record<string, number> = {};
  for (const p of run.pipeline.values()) outcomes[p.outcome] = (outcomes[p.outcome] ?? 0) + 1;
  const denied = [...run.webhook.values()].filter((w) => !w.allowed).length;
  const counts = Object.keys(CATEGORIES).map((c) => `  ${c}: ${new Set(run.disagreements.filter((d) => d.category === c).map((d) => d.id)).size}`);
  return [
    `corpus: ${run.entries.length} EnvoyFilters; istio ${run.versions.istio}, envoy ${run.versions.envoy}; ${run.seconds.toFixed(1)} s`,
    `pipeline: ${Object.entries(outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}; webhook denies ${denied}`,
    'disagreements (configs per category):',
    ...counts,
  ].join('\n');
}

export function byCategory(disagreements: readonly Disagreement[]): Map<Category, Disagreement[]> {
  const out = new Map<Category, Disagreement[]>();
  for (const d of disagreements) out.set(d.category, [...(out.get(d.category) ?? []), d]);
  return out;
}

if (import.meta.main) {
  const run = await runDifferential();
  console.log(summary(run));
  if (process.argv.includes('--details')) for (const d of run.disagreements) console.log(`${d.category}\t${d.id}\t${d.detail}`);
}
