/**
 * Top frames of a V8 CPU profile (`node --cpu-prof`, or `npm run bench -- --cpu-prof=DIR`):
 *   node bench/profile-summary.ts FILE.cpuprofile [--top=N]
 * Prints self time per function, inclusive time per function (each sample counted once per function on its stack),
 * and self time per package or source directory.
 */
import { parseArgs } from 'node:util';
import { REPOSITORY, frameLabel, readProfile, type ProfileNode } from './lib/cpu-profile.ts';
import { table } from './lib/report.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const top = Number(values.top);

for (const file of positionals) {
  const profile = readProfile(file);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const area = (n: ProfileNode) => {
    const url = n.callFrame.url;
    if (url === '') return n.callFrame.functionName.startsWith('(') ? n.callFrame.functionName : '(native/V8)';
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (pkg) return pkg[1];
    if (url.startsWith('node:')) return url.split('/')[0];
    const src = /^((?:src|bench|test)\/[^/]+)/.exec(url.replace(REPOSITORY, ''));
    return src ? src[1] : url;
  };

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const node = byId.get(id)!;
    self.set(frameLabel(node), (self.get(frameLabel(node)) ?? 0) + dt);
    areas.set(area(node), (areas.get(area(node)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = frameLabel(byId.get(at)!);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + dt);
    }
  });
  const rows = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => [`${((us / total) * 100).toFixed(1)}%`, `${(us / 1000).toFixed(0)} ms`, name]);
  const busy = total - (self.get('(idle)') ?? 0);
  process.stdout.write(`# ${file}\n\n${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s not idle\n\n`);
  process.stdout.write(`## self time\n\n${table(['share', 'time', 'function'], rows(self))}\n\n`);
  process.stdout.write(`## inclusive time\n\n${table(['share', 'time', 'function'], rows(inclusive))}\n\n`);
  process.stdout.write(`## self time by package or source directory\n\n${table(['share', 'time', 'where'], rows(areas))}\n\n`);
}
