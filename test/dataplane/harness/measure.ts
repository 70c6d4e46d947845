/**
 * One measurement of a scenario: what N clients got through the gateway, whether the EPP saw the requests, and which
 * of Envoy's counters moved. Written to test/dataplane/measured-symptoms.json so messages can cite it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { post, type Answer } from './client.ts';
import type { DataPlane } from './dataplane.ts';

export interface Measurement {
  scenario: string;
  /** The rule codes kubectl printed (warnings) or the webhook denied with, for the applied objects. */
  webhook: string[];
  /**
   * For a completion other than the default one also the bytes of body the client got, and an error where the body
   * broke off after the status; for a streamed one the time to its first byte and the server-sent events (`data:` lines).
   */
  answers: (Pick<Answer, 'status' | 'ms' | 'firstByteMs' | 'servedBy' | 'error'> & { bytes?: number; events?: number })[];
  /** "EPP received request" lines the EPP logged during the requests. */
  eppRequests: number;
  /** Envoy counters that moved during the requests (ext_proc, the EPP clusters, the pool cluster, responses). */
  envoyStats: Record<string, number>;
}

const WATCHED = /ext_proc|epp-cluster|outbound\|9002\|\||inference|downstream_rq_[2-5]xx|upstream_rq_(total|timeout)|upstream_cx_(connect_fail|protocol_error)|no_healthy|upstream_rq_pending_failure_eject/;

async function counters(plane: DataPlane): Promise<Map<string, number>> {
  const stats = await plane.envoy.stats();
  return new Map([...stats].filter(([name]) => WATCHED.test(name)));
}

const eppReceived = (plane: DataPlane) => plane.epp.log().split('\n').filter((l) => l.includes('EPP received request')).length;

/** Sends `count` completions one after another (or all at once) and records what changed. */
export async function measure(
  plane: DataPlane,
  scenario: string,
  webhook: string[],
  count = 3,
  options: { path?: string; timeoutMs?: number; body?: unknown; concurrent?: boolean } = {},
): Promise<Measurement> {
  const before = await counters(plane);
  const eppBefore = eppReceived(plane);
  const send = async (): Promise<Measurement['answers'][number]> => {
    const answer = await post(`${plane.gatewayUrl}${options.path ?? '/v1/completions'}`, options.body, { timeoutMs: options.timeoutMs });
    // The time to the first byte is recorded for a streamed completion only, where it differs from the whole answer's.
    const streamed = (options.body as { stream?: boolean } | undefined)?.stream === true;
    const events = answer.body.split('\n').filter((line) => line.startsWith('data: ')).length;
    return {
      status: answer.status,
      ms: answer.ms,
      ...(streamed ? { firstByteMs: answer.firstByteMs, events } : {}),
      ...(options.body !== undefined ? { bytes: Buffer.byteLength(answer.body), ...(answer.error ? { error: answer.error } : {}) } : {}),
      servedBy: answer.servedBy,
    };
  };
  const answers: Measurement['answers'] = [];
  // `concurrent`: all at once, each in flight beside the others (answers in the order sent).
  if (options.concurrent) answers.push(...(await Promise.all(Array.from({ length: count }, send))));
  else for (let i = 0; i < count; i++) answers.push(await send());
  // Envoy updates some counters when the stream ends; the EPP logs asynchronously.
  await new Promise((r) => setTimeout(r, 300));
  const after = await counters(plane);
  const envoyStats: Record<string, number> = {};
  for (const [name, value] of after) {
    const delta = value - (before.get(name) ?? 0);
    if (delta !== 0) envoyStats[name] = delta;
  }
  return { scenario, webhook, answers, eppRequests: eppReceived(plane) - eppBefore, envoyStats };
}

/** The codes kubectl printed, each as a finding leads its line (`[EPP205] ...`); a code a message names in passing is not one. */
export function codesIn(output: string): string[] {
  return [...new Set([...output.matchAll(/\[(EPP\d{3})\]/g)].map((m) => m[1]))].sort();
}

const FILE = new URL('../measured-symptoms.json', import.meta.url).pathname;

export interface SymptomsFile {
  versions: Record<string, string>;
  measuredAt: string;
  scenarios: Record<string, Measurement & { rule: string; symptom: string }>;
}

export function readSymptoms(): SymptomsFile {
  return JSON.parse(readFileSync(FILE, 'utf8'));
}

/** With DATAPLANE_RECORD=1 the run rewrites the measured figures (the symptoms, asserted by the tests, stay). */
export function recordSymptoms(file: SymptomsFile): void {
  if (process.env.DATAPLANE_RECORD === '1') writeFileSync(FILE, `${JSON.stringify(file, null, 2)}\n`);
}
