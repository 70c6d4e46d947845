import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { LineCounter, parseAllDocuments, type Document, type DocumentOptions, type ParseOptions, type SchemaOptions, type ToJSOptions } from 'yaml';
import { describe } from '../json-value.ts';
import { findManifestFiles, reasonOf } from './find-manifest-files.ts';

/** How standard input is named in messages and reports. */
export const STDIN_NAME = '<stdin>';

export interface ManifestDocument {
  /** As given on the command line, or found under a given directory; STDIN_NAME for `-`. */
  file: string;
  /** 1-based position among the file's documents; empty ones count, so it matches the `---` sections an editor shows. */
  document: number;
  /** 1-based line where the document's content starts. */
  line: number;
  /** The document as JSON: what kubectl would send. */
  object: unknown;
  /** The parsed document, to find the line of a path and to re-render it with its comments. */
  yaml: Document.Parsed;
  lineCounter: LineCounter;
}

/** Input that cannot be checked at all: an unreadable path, a YAML syntax error, a document that is not an object. */
export interface InputProblem {
  file: string;
  document?: number;
  line?: number;
  column?: number;
  message: string;
}

export interface ManifestInput {
  documents: ManifestDocument[];
  problems: InputProblem[];
}

/**
 * kubectl reads YAML as YAML 1.1 (sigs.k8s.io/yaml): `on`, `yes`, `off` are booleans and `0777` is octal, so a manifest
 * means to the API server, and to the webhook behind it, what it means here. Timestamps and sexagesimal numbers stay
 * strings, as they do in kubectl's YAML-to-JSON conversion.
 */
export const KUBECTL_YAML: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  customTags: (tags) => tags.filter((tag) => typeof tag === 'string' || (tag.tag !== 'tag:yaml.org,2002:timestamp' && tag.format !== 'TIME')),
};

/** A few aliases are normal; thousands are an alias bomb ("billion laughs") and make the document unusable. */
const TO_JS: ToJSOptions = { maxAliasCount: 100 };

/** Splits one file's text into documents; empty and `null` documents are dropped, as kubectl drops them. */
export function parseManifests(text: string, file: string): ManifestInput {
  const lineCounter = new LineCounter();
  const documents: ManifestDocument[] = [];
  const problems: InputProblem[] = [];
  parseAllDocuments(text, { ...KUBECTL_YAML, lineCounter }).forEach((yaml, index) => {
    const document = index + 1;
    const [error] = yaml.errors;
    if (error !== undefined) {
      const position = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
      problems.push({ file, document, line: position.line, column: position.col, message: `YAML syntax: ${firstLine(error.message)}` });
      return;
    }
    if (yaml.contents === null) return;
    const { line } = lineCounter.linePos(yaml.contents.range[0]);
    let object: unknown;
    try {
      // Through JSON, as kubectl sends it: an alias becomes a copy, not a shared object a mutation would change twice.
      object = JSON.parse(JSON.stringify(yaml.toJS(TO_JS)) ?? 'null');
    } catch (failure) {
      problems.push({ file, document, line, message: `YAML: ${(failure as Error).message}` });
      return;
    }
    if (object === null || object === undefined) return;
    if (typeof object !== 'object' || Array.isArray(object)) {
      problems.push({
        file,
        document,
        line,
        message: `document ${document} is ${describe(object)}, not a Kubernetes object: each document must be a mapping with apiVersion and kind (several objects go in separate documents or in the items of a kind: List)`,
      });
      return;
    }
    documents.push({ file, document, line, object, yaml, lineCounter });
  });
  return { documents, problems };
}

/** The yaml package appends ` at line L, column C:` and a source excerpt; the position is reported separately. */
function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * Reads manifests from files, directories (recursively: *.yaml, *.yml, *.json) and `-` (standard input), in the
 * order given. A file named explicitly is read whatever its extension; a file reached twice is read once.
 */
export async function readManifests(paths: readonly string[], readStdin: () => Promise<string>): Promise<ManifestInput> {
  const result: ManifestInput = { documents: [], problems: [] };
  const seen = new Set<string>();
  const add = (text: string, file: string): void => {
    const parsed = parseManifests(text, file);
    result.documents.push(...parsed.documents);
    result.problems.push(...parsed.problems);
  };
  const readFile = (file: string): void => {
    const key = resolve(file);
    if (seen.has(key)) return;
    seen.add(key);
    try {
      add(readFileSync(file, 'utf8'), file);
    } catch (error) {
      result.problems.push({ file, message: `cannot read ${file}: ${reasonOf(error)}` });
    }
  };

  for (const path of paths) {
    if (path === '-') {
      add(await readStdin(), STDIN_NAME);
      continue;
    }
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch (error) {
      result.problems.push({ file: path, message: `cannot read ${path}: ${reasonOf(error)}` });
      continue;
    }
    if (!isDirectory) {
      readFile(path);
      continue;
    }
    const found = findManifestFiles(path);
    for (const { path: unreadable, reason } of found.unreadable) {
      result.problems.push({ file: unreadable, message: `cannot read ${unreadable}: ${reason}` });
    }
    for (const file of found.files) readFile(file);
  }
  return result;
}
