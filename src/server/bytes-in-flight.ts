import type { ServerResponse } from 'node:http';

/**
 * How many bytes of large request bodies and answers the server holds at once. A body is kept in memory from its first
 * byte until its answer is sent, and an answer until the client has read it, and nothing else bounds how many there
 * are together: 32 connections each sending 7 MiB (the largest body maxRequestBytes lets through) and not the last
 * byte took a server under deploy/'s node flags to 345 MB of resident memory, past its 320Mi limit, and 40 clients that
 * never read their answers ran its heap out, all without any credential (docs/reliability.md, fix 14).
 *
 * A body is counted by the length it declares, before it is read (bodyBytes), so it can be refused before it costs
 * anything, until its answer is sent or the connection drops; when its answer is ready, the answer's length takes its
 * place, until the connection closes. What does not fit is refused; what arrives while nothing is held always fits,
 * so a limit below maxRequestBytes still lets the largest body through, alone. Whether small bodies and answers are
 * counted at all is the caller's choice (src/server/app.ts counts neither).
 */
export class BytesInFlight {
  readonly limit: number;
  #held = 0;
  /** Each counted body, by the response that answers it: its answer takes its place. */
  #bodies = new WeakMap<ServerResponse, { bytes: number }>();

  constructor(limit: number) {
    this.limit = limit;
  }

  get held(): number {
    return this.#held;
  }

  /** Counts the body of the request `response` answers; false, and nothing counted, when it does not fit. */
  holdBody(response: ServerResponse, bytes: number): boolean {
    if (!this.#fits(bytes)) return false;
    const entry = { bytes };
    this.#bodies.set(response, entry);
    this.#held += bytes;
    response.once('close', () => this.#release(entry));
    return true;
  }

  /**
   * Counts `response`'s answer in place of its body, until its connection closes: an answer handed to the socket is
   * still held by the TLS layer and the kernel until the client has read it, and a TLS socket keeps a buffer as large
   * as its largest write for as long as it is open (the caller closes the connection after a large answer). False, and
   * neither counted, when the answer does not fit. A response already closed (the client left while its admission
   * waited) holds nothing and is not refused.
   */
  holdAnswer(response: ServerResponse, bytes: number): boolean {
    const socket = response.socket;
    if (response.destroyed || socket === null || socket.destroyed) return true;
    const body = this.#bodies.get(response);
    if (body !== undefined) this.#release(body);
    if (!this.#fits(bytes)) return false;
    this.#held += bytes;
    socket.once('close', () => {
      this.#held -= bytes;
    });
    return true;
  }

  #fits(bytes: number): boolean {
    return this.#held === 0 || this.#held + bytes <= this.limit;
  }

  #release(entry: { bytes: number }): void {
    this.#held -= entry.bytes;
    entry.bytes = 0;
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
