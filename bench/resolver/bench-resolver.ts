import { execFile } from 'node:child_process';
import { loadAverage, mib, progress, table } from '../lib/report.ts';
import { mean, spread } from '../lib/stats.ts';

const CHILD = new URL('./resolver-child.ts', import.meta.url).pathname;
const MODES = ['static', 'informer', 'objects'] as const;
const RUNS = 2;

export interface ResolverResult {
  mode: (typeof MODES)[number];
  count: number;
  run: number;
  heapUsed: number;
  heapDelta: number;
  rss: number;
  rssDelta: number;
  bytesPerService: number;
  eventBytesPerService: number;
  lookupNs: number;
  load: string;
}

function runChild(mode: string, count: number, lookups: number): Promise<Omit<ResolverResult, 'run' | 'load'>> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', CHILD, mode, String(count), String(lookups)], { maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${mode} ${count}: ${error.message}\n${stderr}`));
      resolve(JSON.parse(stdout));
    });
  });
}

/** Each size and shape in a fresh child, twice; `objects` (whole Service objects kept) is the contrast, not a mode we ship. */
export async function benchResolver(sizes: number[], lookups: number): Promise<ResolverResult[]> {
  const results: ResolverResult[] = [];
  for (let run = 1; run <= RUNS; run++) {
    for (const count of sizes) {
      for (const mode of MODES) {
        const result = { ...(await runChild(mode, count, lookups)), run, load: loadAverage() };
        results.push(result);
        progress(`resolver run ${run} ${mode} ${count}: heap ${mib(result.heapUsed)} (+${mib(result.heapDelta)}), ${result.bytesPerService.toFixed(0)} B/Service, lookup ${result.lookupNs.toFixed(0)} ns`);
      }
    }
  }
  return results;
}

export function formatResolver(results: ResolverResult[]): string {
  const groups = new Map<string, ResolverResult[]>();
  for (const r of results) groups.set(`${r.mode} ${r.count}`, [...(groups.get(`${r.mode} ${r.count}`) ?? []), r]);
  const rows = [...groups.values()].map((runs) => {
    const r = runs[0];
    const per = runs.map((x) => x.bytesPerService);
    return [
      r.mode === 'objects' ? 'whole objects (contrast)' : r.mode === 'static' ? 'StaticServiceResolver.fromRecords' : "informer store (ResourceListWatch), parsed events",
      r.count.toLocaleString('en-US'),
      mib(mean(runs.map((x) => x.heapUsed))),
      mib(mean(runs.map((x) => x.heapDelta))),
      `${mean(per).toFixed(0)} (${per.map((x) => x.toFixed(0)).join(', ')})`,
      r.eventBytesPerService ? r.eventBytesPerService.toFixed(0) : '-',
      mib(mean(runs.map((x) => x.rss))),
      `${mean(runs.map((x) => x.lookupNs)).toFixed(0)} ±${(spread(runs.map((x) => x.lookupNs)) * 100).toFixed(0)}%`,
      runs.map((x) => x.load).join(' / '),
    ];
  });
  return [
    `Heap and RSS after 4 forced GCs, each size and shape in a fresh \`node --expose-gc\` child, ${RUNS} runs (mean; the runs in parentheses).`,
    'Heap used includes the process baseline (~10 MiB: the modules loaded); "added" is the cache alone. Lookup: random existing',
    'Services, key built from namespace and name as an admission does.',
    '',
    table(['cache', 'Services', 'heap used', 'added', 'bytes/Service (runs)', 'JSON bytes/Service seen', 'RSS', 'ns/lookup', 'load avg (runs)'], rows),
  ].join('\n');
}
