import { readFileSync, renameSync } from 'node:fs';
import { collectedInstructions, perfMapPath } from './callgrind.ts';
import { table } from './report.ts';

/** What one node run under callgrind counted: the total, and per function when its JIT code was named (JIT_NAMING_FLAGS). */
export interface CountedRun {
  instructions: number;
  functions?: Map<string, number>;
}

/**
 * The run's total from valgrind's stderr (`what` names it in an error) and, given the callgrind file of a run with
 * JIT_NAMING_FLAGS, its counts by function: the perf map node wrote for `pid` (node under valgrind keeps valgrind's
 * pid) is moved beside the callgrind file and read with it.
 */
export function countedRun(stderr: string, what: string, named?: { callgrindFile: string; pid: number }): CountedRun {
  const instructions = collectedInstructions(stderr, what);
  if (named === undefined) return { instructions };
  const perfMap = `${named.callgrindFile}.perf-map`;
  renameSync(perfMapPath(named.pid), perfMap);
  return { instructions, functions: instructionsByFunction(named.callgrindFile, perfMap) };
}

/**
 * Instructions per function from a callgrind output file, with V8's JIT code named: callgrind names C++ and V8's
 * builtins but sees JavaScript compiled at run time as bare addresses, so the run also writes V8's perf map
 * (`node --perf-basic-prof`: one line per code object, `ADDRESS SIZE NAME`) and each address is looked up there. The
 * tiers of one JavaScript function (`~` Ignition, `^` Sparkplug, `+` Maglev, `*` TurboFan) add up under one name.
 * Self instructions only (a function's callees count under their own names), so the figures add up to the total.
 */
export function instructionsByFunction(callgrindFile: string, perfMapFile: string): Map<string, number> {
  const code = readPerfMap(perfMapFile);
  const byFunction = new Map<string, number>();
  for (const [name, instructions] of selfInstructions(readFileSync(callgrindFile, 'utf8'))) {
    const named = name.startsWith('0x') ? (code.nameAt(Number.parseInt(name.split("'")[0], 16)) ?? '(JIT code not in the perf map)') : name.replace(/'\d+$/, '');
    byFunction.set(named, (byFunction.get(named) ?? 0) + instructions);
  }
  return byFunction;
}

/** (counts at n2 − counts at n1) / (n2 − n1) for every function: one warm request's or admission's share each. */
export function perUnit(low: Map<string, number>, high: Map<string, number>, n1: number, n2: number): Map<string, number> {
  const names = new Set([...low.keys(), ...high.keys()]);
  return new Map([...names].map((name) => [name, ((high.get(name) ?? 0) - (low.get(name) ?? 0)) / (n2 - n1)]));
}

/**
 * The `top` functions of several runs side by side (instructions per unit of work, one column per run): with a
 * baseline run, ranked by how far any other run moves from it, with the difference beside each; without, by the
 * largest count.
 */
export function functionsTable(runs: Map<string, Map<string, number>>, top: number, baseline?: string): string {
  const base = baseline === undefined ? undefined : (runs.get(baseline) ?? new Map<string, number>());
  const others = [...runs.keys()].filter((run) => run !== baseline);
  const at = (run: string, name: string) => runs.get(run)?.get(name) ?? 0;
  const names = new Set([...runs.values()].flatMap((functions) => [...functions.keys()]));
  const weight = (name: string) => Math.max(...others.map((run) => Math.abs(at(run, name) - (base?.get(name) ?? 0))));
  const round = (n: number) => (Math.round(n) || 0).toLocaleString('en-US');
  return table(
    ['function', ...(baseline === undefined ? [] : [baseline]), ...others.flatMap((run) => (baseline === undefined ? [run] : [run, `${run} − ${baseline}`]))],
    [...names]
      .sort((a, b) => weight(b) - weight(a))
      .slice(0, top)
      .map((name) => [
        name.length > 110 ? `${name.slice(0, 107)}...` : name,
        ...(baseline === undefined ? [] : [round(at(baseline, name))]),
        ...others.flatMap((run) => (baseline === undefined ? [round(at(run, name))] : [round(at(run, name)), round(at(run, name) - at(baseline, name))])),
      ]),
  );
}

/**
 * Self cost per function name in callgrind's format (`--dump-instr=no`): `fn=(id) name` opens a function (the name
 * written only at its first use), cost lines `POSITION COST` follow, and a `calls=` line's next cost line is the
 * call's inclusive cost, which belongs to the callee and is skipped.
 */
function selfInstructions(text: string): Map<string, number> {
  const names = new Map<string, string>();
  const self = new Map<string, number>();
  let current: string | undefined;
  let skipNext = false;
  for (const line of text.split('\n')) {
    if (skipNext) {
      skipNext = false;
      continue;
    }
    const compressed = /^(fn|cfn)=\((\d+)\)(?: (.*))?$/.exec(line);
    if (compressed) {
      if (compressed[3] !== undefined) names.set(compressed[2], compressed[3]);
      if (compressed[1] === 'fn') current = names.get(compressed[2]);
      continue;
    }
    if (line.startsWith('calls=')) {
      skipNext = true;
      continue;
    }
    if (current === undefined || !/^[\d+*-]/.test(line)) continue;
    const cost = Number(line.split(' ')[1]);
    if (Number.isFinite(cost)) self.set(current, (self.get(current) ?? 0) + cost);
  }
  return self;
}

function readPerfMap(file: string): { nameAt(address: number): string | undefined } {
  const entries = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [start, size, ...name] = line.split(' ');
      return { start: Number.parseInt(start, 16), end: Number.parseInt(start, 16) + Number.parseInt(size, 16), name: name.join(' ').replace(/^JS:[~^+*]'?/, 'JS:').replace(/(?:file:\/\/)?\/\S*?\/(?=(?:src|bench|test|node_modules)\/)/, '') };
    })
    .sort((a, b) => a.start - b.start);
  return {
    nameAt(address) {
      let [low, high] = [0, entries.length - 1];
      while (low <= high) {
        const middle = (low + high) >> 1;
        if (entries[middle].start > address) high = middle - 1;
        else if (entries[middle].end <= address) low = middle + 1;
        else return entries[middle].name;
      }
      return undefined;
    },
  };
}
