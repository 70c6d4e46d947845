/**
 * Instructions per admission of the core, counted by valgrind (callgrind): untouched by whatever else the machine is
 * doing, so a change of several percent shows on a machine whose timings move by tens. The count still moves by up to
 * ~5% between runs of the same tree (V8's JIT and GC decide differently now and then): repeat a comparison and read
 * the spread before trusting a change smaller than that.
 * Each tree runs each case twice, N1 and N2 admissions in a fresh `node --single-threaded` (no concurrent JIT or
 * GC threads); (count(N2) − count(N1)) / (N2 − N1) is the cost of one admission once warm, start-up and warm-up
 * cancelling out. Instructions are not time (a cache miss costs more than an add), but fewer for the same work is
 * less work. Needs valgrind (on this machine's every kind); about a minute per run.
 *   node bench/core-instructions.ts [--before=DIR] [--cases=a,b] [--n1=1000] [--n2=4000]
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { benchCases } from './http/cases.ts';
import { callgrindNodeArgs, collectedInstructions } from './lib/callgrind.ts';
import { loadAverage, table } from './lib/report.ts';

const { values } = parseArgs({ options: { before: { type: 'string' }, cases: { type: 'string' }, n1: { type: 'string', default: '1000' }, n2: { type: 'string', default: '4000' } } });
const [n1, n2] = [Number(values.n1), Number(values.n2)];
if (!(n2 > n1 && n1 > 0)) throw new Error('--n2 must be larger than --n1, both positive');
const child = new URL('./instructions/count-admissions.ts', import.meta.url).pathname;
const trees = [...(values.before === undefined ? [] : [{ name: 'before', root: values.before }]), { name: 'this tree', root: new URL('..', import.meta.url).pathname }];
const cases = benchCases().filter((c) => c.server === 'webhook' && (values.cases === undefined || values.cases.split(',').includes(c.id)));

async function instructions(root: string, caseId: string, count: number): Promise<number> {
  const { stderr } = await promisify(execFile)(
    'valgrind',
    [...callgrindNodeArgs(), child, root, caseId, String(count)],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return collectedInstructions(stderr, `${caseId} in ${root}`);
}

const rows: string[][] = [];
for (const benchCase of cases) {
  const perAdmission: number[] = [];
  for (const tree of trees) {
    const [low, high] = [await instructions(tree.root, benchCase.id, n1), await instructions(tree.root, benchCase.id, n2)];
    perAdmission.push((high - low) / (n2 - n1));
    const change = perAdmission.length > 1 ? `${(((perAdmission[1] - perAdmission[0]) / perAdmission[0]) * 100).toFixed(1)}%` : '';
    rows.push([benchCase.id, ...(trees.length > 1 ? [tree.name] : []), Math.round(perAdmission.at(-1)!).toLocaleString('en-US'), ...(trees.length > 1 ? [change] : [])]);
    process.stderr.write(`${benchCase.id} ${tree.name}: ${Math.round(perAdmission.at(-1)!)} instructions per admission\n`);
  }
}
process.stdout.write(`core instructions per admission (valgrind callgrind, (count(${n2}) − count(${n1})) / ${n2 - n1}, node --single-threaded)${values.before ? `; before = ${values.before}` : ''}; load ${loadAverage()} (does not matter)\n\n`);
process.stdout.write(`${table(['case', ...(trees.length > 1 ? ['tree'] : []), 'instructions per admission', ...(trees.length > 1 ? ['vs before'] : [])], rows)}\n`);
