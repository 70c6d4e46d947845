import { readFileSync } from 'node:fs';

/** This repository's directory, as profile URLs name it (file:///…/). */
export const REPOSITORY = new URL('../../', import.meta.url).href;

/** A V8 CPU profile as `node --cpu-prof` writes it. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

/** `name path:line`, with paths shortened to the package or the repository. */
export function frameLabel(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(REPOSITORY, '').replace(/^file:\/\//, '').replace(/.*\/(node_modules\/)/, '$1');
  return `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
}

/** Microseconds of samples whose innermost frame is each function. */
export function selfTimes(profile: CpuProfile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const label = frameLabel(byId.get(id)!);
    self.set(label, (self.get(label) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return self;
}
