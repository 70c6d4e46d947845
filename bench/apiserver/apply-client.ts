import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { parse } from 'yaml';
import type { ControlPlane } from '../../test/e2e/harness/control-plane.ts';

export interface ApiResponse {
  status: number;
  text: string;
  ms: number;
}

/**
 * Raw HTTPS to the apiserver as the admin (the client certificate of the harness's admin kubeconfig), over a
 * keep-alive agent: one `kubectl apply --server-side` process per object costs ~100 ms of start-up alone.
 */
export class ApiClient {
  readonly #server: string;
  readonly #agent: Agent;

  constructor(cp: ControlPlane, maxSockets: number) {
    const kubeconfig = parse(readFileSync(cp.kubeconfig, 'utf8'));
    const user = kubeconfig.users[0].user;
    const pem = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
    this.#server = cp.server;
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets,
      ca: cp.ca.certPem,
      cert: pem(user['client-certificate-data']),
      key: pem(user['client-key-data']),
    });
  }

  request(method: string, path: string, body?: string, contentType = 'application/json'): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = request(`${this.#server}${path}`, { method, agent: this.#agent, headers: body === undefined ? {} : { 'content-type': contentType } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, text, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** A server-side apply (`application/apply-patch+yaml`; JSON is YAML) of one namespaced object. */
  apply(resourcePath: string, object: unknown, fieldManager = 'epp-webhook-bench'): Promise<ApiResponse> {
    return this.request('PATCH', `${resourcePath}?fieldManager=${fieldManager}&force=true`, JSON.stringify(object), 'application/apply-patch+yaml');
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Runs `count` tasks with at most `concurrency` in flight. */
export async function pooled<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}
