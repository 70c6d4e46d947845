import { tmpdir } from 'node:os';
/**
 * The way the instruction benches run a Node program under valgrind: callgrind, in `node --single-threaded` (no
 * concurrent JIT or GC threads, so every instruction of the program is on the thread counted).
 */

/**
 * V8 optimizes a function once it has run 400 times (Maglev) and 3,000 times (TurboFan): a rule that runs once per
 * admission was still being compiled between the benches' two counts, and its compilation, which varies from run to
 * run, made up to 40% of a count and moved it by 5% between runs of one tree. With these, what the core runs per
 * admission is optimized within its first few hundred, and two runs of one tree at bench/core-instructions.ts's
 * defaults agreed within 1.5% (349,518 and 344,844 for /validate with round 34's rules, 2026-12-07).
 */
export const EARLY_TIER_UP_FLAGS = ['--invocation-count-for-maglev=30', '--invocation-count-for-turbofan=200'];

/** valgrind's arguments up to and including node's own flags; the script and its arguments follow. */
export function callgrindNodeArgs(outFile = '/dev/null'): string[] {
  return ['--tool=callgrind', `--callgrind-out-file=${outFile}`, process.execPath, '--single-threaded', ...EARLY_TIER_UP_FLAGS];
}

/** The total valgrind prints on exit ("Collected : N"); `what` names the run in the error when there is none. */
export function collectedInstructions(stderr: string, what: string): number {
  const collected = /Collected : (\d+)/.exec(stderr);
  if (!collected) throw new Error(`valgrind printed no instruction count for ${what}:\n${stderr.slice(-2000)}`);
  return Number(collected[1]);
}

/**
 * node's flags that let lib/callgrind-functions.ts name the JIT code: V8 writes its perf map (/tmp/perf-PID.map, one
 * line per code object), never moves code after naming it (no code-space compaction), and keeps the log that the map
 * switches on out of the working directory.
 */
export const JIT_NAMING_FLAGS = ['--perf-basic-prof', '--no-compact-code-space', '--logfile=/dev/null', '--no-logfile-per-isolate'];

/** Where node under JIT_NAMING_FLAGS writes process `pid`'s perf map. */
export function perfMapPath(pid: number): string {
  return `${tmpdir()}/perf-${pid}.map`;
}
