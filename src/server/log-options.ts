import pino from 'pino';

/** pino at `level` into `stream` (the admission line goes there too, see app.ts). */
export type LoggerSettings = { level: string; stream: pino.DestinationStream };
/** What the server logs with, or nothing. */
export type LogOptions = LoggerSettings | false;

/**
 * The server's logger: JSON lines on stdout, each written as it is logged. pino's default stdout destination writes
 * asynchronously, keeps the lines logged meanwhile in memory and, on every line, measures the UTF-8 length of all of
 * them again: under load its server measured about 5,000 characters per admission against 1,200 written (a
 * Buffer.byteLength count in the bench server), more the busier it got, and a SIGKILL right after the last answer lost
 * lines in two runs of three (test/server/log-destination.test.ts). Written synchronously, each line is measured once,
 * is out before the answer it records leaves, and a stdout nobody reads stalls the server instead of growing its memory.
 */
export function serverLogOptions(level: string): LoggerSettings {
  return { level, stream: pino.destination({ dest: 1, sync: true }) };
}
