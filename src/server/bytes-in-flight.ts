/**
 * How many bytes of request bodies the server holds at once. A body is kept in memory from its first byte until its
 * answer is sent, and nothing else bounds how many arrive together: 32 connections each sending 7 MiB (the largest
 * body maxRequestBytes lets through) and not the last byte took the server to 345 MB of resident memory, past
 * deploy/'s 320Mi limit, without any credential (docs/reliability.md, fix 14). A request is counted by the length it
 * declares, before its body is read (bodyBytes).
 */
export class BytesInFlight {
  readonly limit: number;
  #held = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get held(): number {
    return this.#held;
  }

  /**
   * Counts `bytes` if they fit beside what is held. A request that arrives while nothing is held always fits, so a
   * limit below maxRequestBytes still lets the largest body through, one at a time.
   */
  tryHold(bytes: number): boolean {
    if (bytes > 0 && this.#held > 0 && this.#held + bytes > this.limit) return false;
    this.#held += bytes;
    return true;
  }

  /** Counts `bytes` that are already in memory (an answer): they make later requests wait, never this one. */
  hold(bytes: number): void {
    this.#held += bytes;
  }

  release(bytes: number): void {
    this.#held -= bytes;
  }
}

/**
 * What a request's body may hold, from its headers: its Content-Length, at most `limit` (more is refused with 413
 * before it is read); `limit` for a chunked body, whose length is known only at its end; none without either.
 */
export function bodyBytes(headers: { 'content-length'?: string; 'transfer-encoding'?: string }, limit: number): number {
  const declared = headers['content-length'];
  if (declared !== undefined) return /^\d+$/.test(declared) ? Math.min(Number(declared), limit) : limit;
  return headers['transfer-encoding'] === undefined ? 0 : limit;
}
