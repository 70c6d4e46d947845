/** What a client of the gateway sees for one completion: status, time to the whole answer, which Pod served it. */
import { SERVED_BY_HEADER } from './model-server.ts';

export interface Answer {
  status: number;
  ms: number;
  /** The model-server stand-in that answered (its x-served-by header), or undefined if none did. */
  servedBy: string | undefined;
  body: string;
  headers: Record<string, string>;
  /** Set when no HTTP answer came at all (connection refused, client timeout). */
  error?: string;
}

export const COMPLETION = { model: 'sim', prompt: 'Say hi', max_tokens: 5 };

export async function post(url: string, body: unknown = COMPLETION, options: { timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<Answer> {
  const start = performance.now();
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
    const text = await res.text();
    return {
      status: res.status,
      ms: Math.round(performance.now() - start),
      servedBy: res.headers.get(SERVED_BY_HEADER) ?? undefined,
      body: text,
      headers: Object.fromEntries(res.headers),
    };
  } catch (error) {
    return { status: 0, ms: Math.round(performance.now() - start), servedBy: undefined, body: '', headers: {}, error: (error as Error).message };
  }
}
