import { request } from 'node:https';

export interface HttpsResult {
  status: number;
  body: any;
  text: string;
  contentType: string | undefined;
}

/** One HTTPS request trusting only `ca`, as the kube-apiserver calls the webhook. */
export function httpsRequest(
  url: string,
  options: { ca: string | Buffer; method?: string; body?: string | Buffer; headers?: Record<string, string> },
): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', ca: options.ca, headers: { 'content-type': 'application/json', ...options.headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body, text, contentType: res.headers['content-type'] });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export function postJson(url: string, ca: string | Buffer, body: unknown): Promise<HttpsResult> {
  return httpsRequest(url, { ca, method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
}
