import { readFileSync } from 'node:fs';

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Text as kubectl reads a manifest (cli-runtime's FileVisitor, unicode.BOMOverride): UTF-16 when it begins with a
 * UTF-16 byte order mark, as Windows PowerShell's `>` writes, else UTF-8. Bytes that are not UTF-8 (a Latin-1 file)
 * are an error, as they are to kubectl's YAML reader, not characters replaced and passed on.
 */
export function decodeText(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    throw new NotUtf8Error(new TextDecoder('utf-8').decode(bytes));
  }
}

export class NotUtf8Error extends Error {
  override name = 'NotUtf8Error';
  /** The text with each byte that is not UTF-8 replaced by U+FFFD. */
  readonly text: string;

  constructor(text: string) {
    super(`not UTF-8 (line ${text.slice(0, text.indexOf('\uFFFD')).split('\n').length}): kubectl refuses it too; save it as UTF-8`);
    this.text = text;
  }
}

export function readTextFile(path: string): string {
  return decodeText(readFileSync(path));
}
