import { execFileSync, spawn } from 'node:child_process';
import type { TranslatedPatch } from './envoy/gateway-bootstrap.ts';

/** What istiod does with one EnvoyFilter (see test/oracle/istio/main.go). */
export interface IstioVerdict {
  id: string;
  /** istiod's validating webhook admits it (kubectl apply succeeds). */
  admitted: boolean;
  error?: string;
  warnings: string[];
  /** What istiod pushes for each patch. */
  patches: TranslatedPatch[];
}

/** Asks the Istio oracle binary about every object in one run (JSON lines in, JSON lines out, same order). */
export function askIstio(oracle: string, objects: readonly { id: string; object: unknown }[]): Promise<IstioVerdict[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(oracle, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let errors = '';
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => (errors += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`istio oracle exited ${code}: ${errors}`));
      const verdicts = Buffer.concat(chunks)
        .toString('utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as IstioVerdict);
      if (verdicts.length !== objects.length) return reject(new Error(`istio oracle answered ${verdicts.length} of ${objects.length}`));
      resolve(verdicts);
    });
    child.stdin.end(objects.map((o) => JSON.stringify(o)).join('\n') + '\n');
  });
}

/** Each message's fields as istiod's protos define them: [proto name, JSON name, kind] (see main.go --fields). */
export function istioFields(oracle: string, messages: readonly string[]): Record<string, [string, string, string][]> {
  return JSON.parse(execFileSync(oracle, ['--fields', ...messages], { encoding: 'utf8' }));
}
