/** What a client of the gateway sees for one completion: status, time to the whole answer, which Pod served it. */
import { SERVED_BY_HEADER } from './model-server.ts';

export interface Answer {
  status: number;
  ms: number;
  /** Time to the first byte of the body: for a streamed completion, when the client sees its first token. */
  firstByteMs?: number;
  /** The model-server stand-in that answered (its x-served-by header), or undefined if none did. */
  servedBy: string | undefined;
  body: string;
  headers: Record<string, string>;
  /** Set when no HTTP answer came at all (connection refused, client timeout), or the body broke off after the headers. */
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
    // Read chunk by chunk, to see when the first byte arrives (a streamed completion's first token), and keep what
    // came when the body breaks off after the status and headers did.
    const chunks: Uint8Array[] = [];
    let firstByteMs: number | undefined;
    let bodyError: string | undefined;
    try {
      if (res.body) {
        for await (const chunk of res.body) {
          firstByteMs ??= Math.round(performance.now() - start);
          chunks.push(chunk);
        }
      }
    } catch (error) {
      bodyError = `body cut off: ${(error as Error).message}`;
    }
    return {
      status: res.status,
      ms: Math.round(performance.now() - start),
      firstByteMs,
      servedBy: res.headers.get(SERVED_BY_HEADER) ?? undefined,
      body: Buffer.concat(chunks).toString('utf8'),
      headers: Object.fromEntries(res.headers),
      ...(bodyError ? { error: bodyError } : {}),
    };
  } catch (error) {
    return { status: 0, ms: Math.round(performance.now() - start), servedBy: undefined, body: '', headers: {}, error: (error as Error).message };
  }
}
