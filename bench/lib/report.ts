import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** The 1/5/15-minute load average, as `uptime` prints it: published next to every figure. */
export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
}

/** A Markdown table (so the output can be pasted into docs/performance.md as printed). */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(cells[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

export const ms = (value: number): string => (Number.isFinite(value) ? value.toFixed(2) : '-');
export const pct = (fraction: number): string => (Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)}%` : '-');
export const int = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-');
export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Section headers and progress go to stderr; tables and results to stdout. */
export function progress(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)} load ${loadAverage()}] ${line}\n`);
}

/**
 * The guest's halt polling, which moves closed-loop results by several points on a VM: with guest_halt_poll_ns at 0 an
 * idle vCPU halts at once, and each answer that wakes the waiting load generator waits for the hypervisor to wake its
 * vCPU, in the kernel of the server's write. A slower server finds the client idle more often and pays that more.
 */
export function haltPolling(): string {
  const file = '/sys/module/haltpoll/parameters/guest_halt_poll_ns';
  return existsSync(file) ? `guest_halt_poll_ns ${readFileSync(file, 'utf8').trim()}` : 'no haltpoll cpuidle driver';
}
