import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

/**
 * What a client gets whose request Node's HTTP parser refused before any route saw it: the status and a reason, as
 * every other refusal has, quoting nothing of the request (Fastify's own answer says only "Client Error").
 */
export function clientErrorAnswer(code: string | undefined, limits: { headersTimeout: number; requestTimeout: number }): { status: number; reason: string } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, reason: `the request did not arrive in time: its headers are due within ${seconds(limits.headersTimeout)}, the whole request within ${seconds(limits.requestTimeout)}` };
  }
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, reason: `the request's headers are larger than ${maxHeaderSize} bytes` };
  return { status: 400, reason: `not an HTTP/1.x request the server can read (${code ?? 'parse error'})` };
}

/**
 * Whether an error means the client went away mid-request (a reset, or a close where the parser still awaited part of
 * a message; Fastify's body reader reports the latter as ECONNRESET 'aborted'): nobody to answer, nothing to count.
 */
export function clientHungUp(code: string | undefined): boolean {
  return code === 'ECONNRESET' || code === 'HPE_INVALID_EOF_STATE';
}

/** Writes the answer and closes the connection (the parser cannot go on from where it stopped), as Fastify's default does. */
export function writeClientError(socket: Socket, answer: { status: number; reason: string }): void {
  if (socket.writable) {
    const body = JSON.stringify({ error: STATUS_CODES[answer.status], reason: answer.reason });
    socket.write(`HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

const seconds = (ms: number) => `${ms / 1000} s`;
