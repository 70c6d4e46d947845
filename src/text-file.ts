import { readFileSync } from 'node:fs';

/**
 * Text as kubectl reads a manifest (cli-runtime's FileVisitor, unicode.BOMOverride): UTF-16 when it begins with a
 * UTF-16 byte order mark, as Windows PowerShell's `>` writes, else UTF-8.
 */
export function decodeText(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

export function readTextFile(path: string): string {
  return decodeText(readFileSync(path));
}
