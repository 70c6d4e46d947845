/**
 * Instructions per request of each piece of the webhook's work outside the core (the admission line, the metrics, the
 * answer's serialisation), counted by valgrind (callgrind) as bench/core-instructions.ts counts the core: each piece N1
 * and N2 times in a fresh `node --single-threaded`, (count(N2) − count(N1)) / (N2 − N1). Pieces are small, so the
 * defaults are large: at 1,000 and 4,000 one piece read 38k and then 18k. Each count is net of the loop's own (piece
 * `loop`, measured first). About a minute per piece.
 *   node bench/shell-instructions.ts [--pieces=a,b] [--n1=5000] [--n2=45000]
 */
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import { callgrindNodeArgs, collectedInstructions } from './lib/callgrind.ts';
import { loadAverage, table } from './lib/report.ts';

const PIECES: Record<string, string> = {
  loop: "the loop alone (a fresh uid each time): subtracted from every other piece's count",
  'admission-line': "the server's admission line of the HTTPRoute case's admission (admissionLine: pino's line in one template)",
  'admission-line-pino': "the same line through pino's info(), as the server wrote it before round 10 (to a stream that only counts)",
  'child-logger': "a pino child logger with Fastify's reqId binding (made per request before this round)",
  'counter-inc': "prom-client Counter.inc with the requests counter's 4 labels",
  'gauge-inc-dec': "prom-client Gauge.inc and .dec with the in-flight gauge's label",
  'histogram-observe': "prom-client Histogram.observe with the duration histogram's 2 labels and buckets (the server's before round 11)",
  'light-histogram-observe': 'LightHistogram.observe of the duration histogram (what an admission does now)',
  'pending-counts-add': 'PendingCounts.add of the requests counter (what an admission does now)',
  'pending-gauge-add': 'PendingCounts.add and add(-1) of the in-flight gauge (what an admission does now)',
  'answer-template': "admissionResponseJson for the HTTPRoute case's verdict: the answer's JSON in one template, the patch's JSON (8 injected filters) and its base64 included (what the server writes; before round 11, admissionResponse's object and fast-json-stringify: a45d299's answer-object-json)",
};

const { values } = parseArgs({ options: { pieces: { type: 'string' }, n1: { type: 'string', default: '5000' }, n2: { type: 'string', default: '45000' } } });
const [n1, n2] = [Number(values.n1), Number(values.n2)];
if (!(n2 > n1 && n1 > 0)) throw new Error('--n2 must be larger than --n1, both positive');
const pieces = values.pieces === undefined ? Object.keys(PIECES).filter((p) => p !== 'loop') : values.pieces.split(',');
const unknown = pieces.filter((piece) => PIECES[piece] === undefined);
if (unknown.length > 0) throw new Error(`unknown piece ${unknown.join(', ')}; one of ${Object.keys(PIECES).join(', ')}`);
const child = new URL('./instructions/count-shell-piece.ts', import.meta.url).pathname;

async function instructions(piece: string, count: number): Promise<number> {
  const { stderr } = await promisify(execFile)('valgrind', [...callgrindNodeArgs(), child, piece, String(count)], { maxBuffer: 16 * 1024 * 1024 });
  return collectedInstructions(stderr, `${piece} × ${count}`);
}

const perCall = async (piece: string) => ((await instructions(piece, n2)) - (await instructions(piece, n1))) / (n2 - n1);
const loop = await perCall('loop');
const rows: string[][] = [];
for (const piece of pieces) {
  const net = (await perCall(piece)) - loop;
  process.stderr.write(`${piece}: ${Math.round(net)} instructions\n`);
  rows.push([piece, Math.round(net).toLocaleString('en-US'), PIECES[piece]]);
}
process.stdout.write(`instructions per request of each piece outside the core (valgrind callgrind, (count(${n2}) − count(${n1})) / ${n2 - n1}, node --single-threaded, less the loop's own ${Math.round(loop).toLocaleString('en-US')}); load ${loadAverage()} (does not matter)\n\n`);
process.stdout.write(`${table(['piece', 'instructions', 'what'], rows)}\n`);
