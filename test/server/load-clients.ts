/**
 * Clients for the fault and load tests: keep-alive loops that count every outcome, and a raw HTTP/1.1
 * request over TLS whose body is written in pieces (an admission held in flight on purpose).
 */
import { Agent, request } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';

export interface LoopTally {
  /** 200 answers carrying an AdmissionReview with the request's uid. */
  ok: number;
  /** Answers that were not that, with their status. */
  bad: { status: number; body: string; at: number }[];
  /** Connection-level failures (refused, reset, TLS), with when they happened (performance.now()). */
  errors: { code: string; message: string; at: number }[];
}

/**
 * `clients` loops, each sending `body` to `url` back to back until `stop()`; `keepAlive` reuses one connection
 * per loop (as the apiserver does), otherwise every request opens a new TLS connection. A loop pauses
 * `pauseAfterErrorMs` after a connection failure and goes on.
 */
export function requestLoops(options: {
  url: string;
  ca: Buffer | string | (() => Buffer | string);
  body: string;
  uid: string;
  clients: number;
  keepAlive: boolean;
  pauseAfterErrorMs?: number;
  stopOnError?: boolean;
}): { tally: LoopTally; stop(): Promise<LoopTally> } {
  const tally: LoopTally = { ok: 0, bad: [], errors: [] };
  let stopped = false;
  const caOf = () => (typeof options.ca === 'function' ? options.ca() : options.ca);
  const one = (agent: Agent | false): Promise<void> =>
    new Promise((resolve) => {
      const req = request(
        options.url,
        { method: 'POST', ca: caOf(), agent, headers: { 'content-type': 'application/json' }, servername: 'localhost' },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let uid: unknown;
            try {
              uid = JSON.parse(text)?.response?.uid;
            } catch {}
            if (res.statusCode === 200 && uid === options.uid) tally.ok++;
            else tally.bad.push({ status: res.statusCode ?? 0, body: text.slice(0, 300), at: performance.now() });
            resolve();
          });
          res.on('error', (error: NodeJS.ErrnoException) => {
            tally.errors.push({ code: error.code ?? error.name, message: error.message, at: performance.now() });
            resolve();
          });
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        tally.errors.push({ code: error.code ?? error.name, message: error.message, at: performance.now() });
        resolve();
      });
      req.end(options.body);
    });
  const loops = Array.from({ length: options.clients }, async () => {
    let agent: Agent | false = options.keepAlive ? new Agent({ keepAlive: true, maxSockets: 1 }) : false;
    while (!stopped) {
      const errorsBefore = tally.errors.length;
      await one(agent);
      if (tally.errors.length > errorsBefore) {
        if (options.stopOnError) break;
        if (agent) {
          agent.destroy();
          agent = new Agent({ keepAlive: true, maxSockets: 1 });
        }
        await new Promise((r) => setTimeout(r, options.pauseAfterErrorMs ?? 20));
      }
    }
    if (agent) agent.destroy();
  });
  return {
    tally,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return tally;
    },
  };
}

/** `headers` is the head of the answer as sent, status line included. */
export interface HeldAnswer {
  status: number;
  headers: string;
  body: string;
}

export interface HeldRequest {
  socket: TLSSocket;
  /** Writes the rest of the body; resolves with the status and body of the answer. */
  finish(): Promise<HeldAnswer>;
  /** The answer, or the connection's end, whichever comes first. */
  response: Promise<HeldAnswer | { closed: string }>;
}

/** A raw TLS connection to the server on loopback, once its handshake is done. */
export function secureConnection(port: number, ca: Buffer | string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    socket.once('secureConnect', () => resolve(socket)).once('error', reject);
  });
}

/** POSTs `body` over a raw TLS connection, writing only `sentBytes` of it until finish(). */
export async function heldRequest(options: { port: number; ca: Buffer | string; path: string; body: string | Buffer; sentBytes: number }): Promise<HeldRequest> {
  const socket = await secureConnection(options.port, options.ca);
  const body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
  socket.write(
    `POST ${options.path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  socket.write(body.subarray(0, options.sentBytes));
  let received = Buffer.alloc(0);
  const response = new Promise<HeldAnswer | { closed: string }>((resolve) => {
    const settle = (): boolean => {
      const text = received.toString('latin1');
      const headerEnd = text.indexOf('\r\n\r\n');
      if (headerEnd < 0) return false;
      const length = /content-length: *(\d+)/i.exec(text.slice(0, headerEnd));
      const bodyText = received.subarray(headerEnd + 4);
      if (length && bodyText.length < Number(length[1])) return false;
      resolve({ status: Number(text.slice(9, 12)), headers: text.slice(0, headerEnd), body: bodyText.toString('utf8') });
      return true;
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      settle();
    });
    socket.once('close', () => settle() || resolve({ closed: received.length === 0 ? 'closed without an answer' : received.toString('latin1').slice(0, 200) }));
    socket.once('error', () => {});
  });
  return {
    socket,
    response,
    async finish() {
      socket.write(body.subarray(options.sentBytes));
      const answer = await response;
      if ('closed' in answer) throw new Error(`the held request got no answer: ${answer.closed}`);
      return answer;
    },
  };
}
