/**
 * Instructions per admission of the core, counted by valgrind (callgrind): untouched by whatever else the machine is
 * doing, so a change of several percent shows on a machine whose timings move by tens. The count still moves by up to
 * ~1.5% (`/validate`) to ~4% (the HTTPRoute) between runs of the same tree (V8's JIT and GC decide differently now
 * and then; lib/callgrind.ts's EARLY_TIER_UP_FLAGS keep its compiler's work out of the count): repeat a comparison
 * and read the spread before trusting a change smaller than that.
 * Each tree runs each case twice, N1 and N2 admissions in a fresh `node --single-threaded` (no concurrent JIT or
 * GC threads); (count(N2) − count(N1)) / (N2 − N1) is the cost of one admission once warm, start-up and warm-up
 * cancelling out. Instructions are not time (a cache miss costs more than an add), but fewer for the same work is
 * less work. Needs valgrind (on this machine's every kind); one to two minutes per run at the defaults.
 * --by-function=N names V8's JIT code too (lib/callgrind-functions.ts) and prints each case's N functions by
 * instructions per admission (with --before, those that moved most between the trees).
 *   node bench/core-instructions.ts [--before=DIR] [--cases=a,b] [--n1=3000] [--n2=9000] [--by-function=N]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { benchCases } from './http/cases.ts';
import { callgrindNodeArgs, JIT_NAMING_FLAGS } from './lib/callgrind.ts';
import { countedRun, functionsTable, perUnit, type CountedRun } from './lib/callgrind-functions.ts';
import { loadAverage, table } from './lib/report.ts';

const { values } = parseArgs({ options: { before: { type: 'string' }, cases: { type: 'string' }, n1: { type: 'string', default: '3000' }, n2: { type: 'string', default: '9000' }, 'by-function': { type: 'string' } } });
const byFunction = values['by-function'] === undefined ? undefined : Number(values['by-function']);
const [n1, n2] = [Number(values.n1), Number(values.n2)];
if (!(n2 > n1 && n1 > 0)) throw new Error('--n2 must be larger than --n1, both positive');
const child = new URL('./instructions/count-admissions.ts', import.meta.url).pathname;
const trees = [...(values.before === undefined ? [] : [{ name: 'before', root: values.before }]), { name: 'this tree', root: new URL('..', import.meta.url).pathname }];
const cases = benchCases().filter((c) => c.server === 'webhook' && (values.cases === undefined || values.cases.split(',').includes(c.id)));

async function instructions(root: string, caseId: string, count: number): Promise<CountedRun> {
  const outDir = byFunction === undefined ? undefined : mkdtempSync(join(tmpdir(), 'epp-webhook-core-instructions-'));
  const outFile = outDir === undefined ? undefined : join(outDir, 'callgrind.out');
  try {
    const run = promisify(execFile)('valgrind', [...callgrindNodeArgs(outFile), ...(outDir === undefined ? [] : JIT_NAMING_FLAGS), child, root, caseId, String(count), String(n2)], { maxBuffer: 16 * 1024 * 1024 });
    const { stderr } = await run;
    return countedRun(stderr, `${caseId} in ${root}`, outFile === undefined ? undefined : { callgrindFile: outFile, pid: run.child.pid! });
  } finally {
    if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
  }
}

const rows: string[][] = [];
const functionTables: string[] = [];
for (const benchCase of cases) {
  const perAdmission: number[] = [];
  const functionsPerAdmission = new Map<string, Map<string, number>>();
  for (const tree of trees) {
    const [low, high] = [await instructions(tree.root, benchCase.id, n1), await instructions(tree.root, benchCase.id, n2)];
    perAdmission.push((high.instructions - low.instructions) / (n2 - n1));
    if (low.functions && high.functions) functionsPerAdmission.set(tree.name, perUnit(low.functions, high.functions, n1, n2));
    const change = perAdmission.length > 1 ? `${(((perAdmission[1] - perAdmission[0]) / perAdmission[0]) * 100).toFixed(1)}%` : '';
    rows.push([benchCase.id, ...(trees.length > 1 ? [tree.name] : []), Math.round(perAdmission.at(-1)!).toLocaleString('en-US'), ...(trees.length > 1 ? [change] : [])]);
    process.stderr.write(`${benchCase.id} ${tree.name}: ${Math.round(perAdmission.at(-1)!)} instructions per admission\n`);
  }
  if (byFunction !== undefined) {
    functionTables.push(`${benchCase.id}: instructions per admission by function (self; JIT code named by V8's perf map)\n\n${functionsTable(functionsPerAdmission, byFunction, trees.length > 1 ? 'before' : undefined)}`);
  }
}
process.stdout.write(`core instructions per admission (valgrind callgrind, (count(${n2}) − count(${n1})) / ${n2 - n1}, node --single-threaded)${values.before ? `; before = ${values.before}` : ''}; load ${loadAverage()} (does not matter)\n\n`);
process.stdout.write(`${table(['case', ...(trees.length > 1 ? ['tree'] : []), 'instructions per admission', ...(trees.length > 1 ? ['vs before'] : [])], rows)}\n`);
for (const functionTable of functionTables) process.stdout.write(`\n${functionTable}\n`);
