import { realpathSync, statSync } from 'node:fs';
import { NotUtf8Error, readTextFile } from '../text-file.ts';
import { resolve } from 'node:path';
import { LineCounter, parseAllDocuments, type Document, type DocumentOptions, type ParseOptions, type ScalarTag, type SchemaOptions, type ToJSOptions } from 'yaml';
import { hasPrototypeKey } from '../admission/prototype-keys.ts';
import { describe, isObject } from '../json-value.ts';
import type { ExcludePatterns } from './exclude-patterns.ts';
import { findManifestFiles, reasonOf } from './find-manifest-files.ts';
import { helmTemplateMessage, isInChartTemplates, templateActionLine } from './helm-template.ts';
import { splitJsonStream } from './json-stream.ts';
import { isList, kindOf, listItem, webhookObjects } from './webhook-objects.ts';
import { nearMissKind } from './near-miss-kind.ts';

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

/**
 * Input that is not ours to check, so neither a finding nor an error: a Helm template (said, with how to render it),
 * or a file that is no Kubernetes manifest at all (a package.json, a JSON array, a JSONC config: counted only).
 */
export interface SkippedInput {
  file: string;
  line?: number;
  reason: 'helm-template' | 'not-kubernetes';
  message: string;
}

export interface ManifestInput {
  documents: ManifestDocument[];
  problems: InputProblem[];
  skipped: SkippedInput[];
  /** Files (and standard input) read. */
  files: number;
}

/**
 * kubectl reads YAML as YAML 1.1 (sigs.k8s.io/yaml): `on`, `yes`, `off` are booleans and `0777` is octal, so a manifest
 * means to the API server, and to the webhook behind it, what it means here. Timestamps and sexagesimal numbers stay
 * strings, as they do in kubectl's YAML-to-JSON conversion.
 */
export const KUBECTL_YAML: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  customTags: (tags) =>
    tags
      .filter((tag) => typeof tag === 'string' || (tag.tag !== 'tag:yaml.org,2002:timestamp' && tag.format !== 'TIME'))
      .map((tag) => {
        if (typeof tag === 'string') return tag;
        // `!!binary` is its decoded bytes as a string to kubectl (go-yaml), not a byte array JSON would spell as numbers.
        if (tag.tag === 'tag:yaml.org,2002:binary') return { ...tag, resolve: (source: string) => Buffer.from(source, 'base64').toString('utf8') } as ScalarTag;
        // YAML 1.1's float pattern takes a lone `.` (kustomize's `delimiter: .`) as a float, NaN; go-yaml parses the
        // digits and, finding none, keeps the string.
        if (tag.tag === 'tag:yaml.org,2002:float' && !('collection' in tag)) {
          const resolve = tag.resolve as (source: string, onError: (message: string) => void, options: ParseOptions) => unknown;
          return { ...tag, resolve: (source: string, onError: (message: string) => void, options: ParseOptions) => (/^[-+]?[._]*$/.test(source) ? source : resolve(source, onError, options)) } as ScalarTag;
        }
        return tag;
      }),
};

/** A few aliases are normal; thousands are an alias bomb ("billion laughs") and make the document unusable. */
const TO_JS: ToJSOptions = { maxAliasCount: 100 };

/**
 * Splits one file's text into documents; empty and `null` documents are dropped, as kubectl drops them. A file that
 * cannot hold a Kubernetes manifest (a Helm template, YAML or JSON that never says apiVersion and kind, a document
 * that is a scalar or a plain list) is skipped, not reported as broken: a repository holds many such files.
 */
export function parseManifests(text: string, file: string, options: { chartTemplate?: boolean } = {}): ManifestInput {
  const lineCounter = new LineCounter();
  const documents: ManifestDocument[] = [];
  const problems: InputProblem[] = [];
  const skipped: SkippedInput[] = [];
  // A byte order mark opens each file of a `cat *.yaml` or `helm template` stream saved by some editors; kubectl's YAML
  // reader skips one at the start of any line, and the yaml package only at the start of the text, where it would
  // otherwise read `\uFEFFapiVersion` as a key and pass the object over.
  if (text.includes('\uFEFF')) text = text.replace(/^\uFEFF/gm, '');
  const parsed = parseAllDocuments(text, { ...KUBECTL_YAML, lineCounter });
  const syntaxError = parsed.some((yaml) => yaml.errors.length > 0);
  const jsonValues = syntaxError ? splitJsonStream(text) : undefined;
  if (jsonValues !== undefined) return parseJsonStream(text, jsonValues, file, lineCounter);
  const templateLine = templateActionLine(text);
  if (templateLine !== undefined && (syntaxError || options.chartTemplate)) {
    return { documents, problems, skipped: [{ file, line: templateLine, reason: 'helm-template', message: helmTemplateMessage(templateLine) }], files: 1 };
  }
  if (syntaxError && !mentionsKubernetesObject(text)) {
    return { documents, problems, skipped: [{ file, reason: 'not-kubernetes', message: 'does not parse as YAML or JSON and names no apiVersion or kind' }], files: 1 };
  }
  const result: ManifestInput = { documents, problems, skipped, files: 1 };
  parsed.forEach((yaml, index) => addDocument(result, yaml, file, index + 1, lineCounter));
  return result;
}

/** Each value of a JSON stream (splitJsonStream) read as one document, its lines those of the whole text. */
function parseJsonStream(text: string, values: readonly [number, number][], file: string, whole: LineCounter): ManifestInput {
  const result: ManifestInput = { documents: [], problems: [], skipped: [], files: 1 };
  values.forEach(([start, end], index) => {
    const lineCounter = new LineCounter();
    lineCounter.linePos = (offset) => whole.linePos(offset + start);
    const [yaml] = parseAllDocuments(text.slice(start, end), { ...KUBECTL_YAML, prettyErrors: false });
    addDocument(result, yaml, file, index + 1, lineCounter);
  });
  return result;
}

function addDocument(result: ManifestInput, yaml: Document.Parsed, file: string, document: number, lineCounter: LineCounter): void {
  const { documents, problems, skipped } = result;
  const [error] = yaml.errors;
  if (error !== undefined) {
    const position = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
    problems.push({ file, document, line: position.line, column: position.col, message: `YAML syntax: ${firstLine(error.message)}` });
    return;
  }
  if (yaml.contents === null) return;
  const { line } = lineCounter.linePos(yaml.contents.range[0]);
  let object: unknown;
  let parsed: unknown;
  try {
    parsed = yaml.toJS(TO_JS);
    // Through JSON, as kubectl sends it: an alias becomes a copy, not a shared object a mutation would change twice.
    object = JSON.parse(JSON.stringify(parsed, finiteNumbers) ?? 'null');
  } catch (failure) {
    // A values file's `.inf` is not ours to refuse; a manifest's is kubectl's refusal too.
    if (failure instanceof NotJsonNumber && !namesApiVersionAndKind(parsed)) {
      skipped.push({ file, line, reason: 'not-kubernetes', message: `document ${document} names no apiVersion and kind, and ${failure.message}` });
      return;
    }
    problems.push({ file, document, line, message: `YAML: ${(failure as Error).message}` });
    return;
  }
  if (object === null || object === undefined) return;
  // The server refuses such a body with 400, and the apiserver the write; not a DestinationRule's, whose webhook only
  // warns (failurePolicy Ignore): that one is admitted.
  if (webhookObjects(object).some((o) => kindOf(o) !== 'DestinationRule' && hasPrototypeKey(o))) {
    problems.push({ file, document, line, message: PROTOTYPE_KEY_PROBLEM });
    return;
  }
  if (Array.isArray(object) && object.some(namesApiVersionAndKind)) {
    problems.push({
      file,
      document,
      line,
      message: `document ${document} is a plain list of Kubernetes objects, which kubectl does not read: put each object in its own document (---) or the list in the items of a kind: List`,
    });
    return;
  }
  if (typeof object !== 'object' || Array.isArray(object)) {
    skipped.push({ file, line, reason: 'not-kubernetes', message: `document ${document} is ${describe(object)}, not a Kubernetes object` });
    return;
  }
  const misspelt = [object, ...(isList(object) ? object.items.map((item) => listItem(object, item)) : [])].map(nearMissKind).find((m) => m !== undefined);
  if (misspelt !== undefined) {
    problems.push({ file, document, line, message: misspelt });
    return;
  }
  documents.push({ file, document, line, object, yaml, lineCounter });
}

/** JSON has no infinity or NaN: kubectl refuses `.inf` and `.nan` (JSON.stringify would write null). */
function finiteNumbers(key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new NotJsonNumber(`${key === '' ? 'the document' : `key ${JSON.stringify(key)}`} is ${value}, which JSON cannot hold: kubectl refuses it; quote it if it is meant as a string`);
  return value;
}

class NotJsonNumber extends Error {
  override name = 'NotJsonNumber';
}

const PROTOTYPE_KEY_PROBLEM =
  'a __proto__ key, or a constructor key holding a prototype key, in an object the webhook checks: its server answers such a request with HTTP 400, not an admission (README "HTTP behaviour")';

/** What kubectl needs of an object to apply it: a values file or a Chart.yaml has neither or only one. */
export function namesApiVersionAndKind(value: unknown): boolean {
  return isObject(value) && typeof value.apiVersion === 'string' && typeof value.kind === 'string';
}

/** A manifest kubectl could apply names its apiVersion and kind; broken text that names neither is some other file. */
function mentionsKubernetesObject(text: string): boolean {
  return /\b(apiVersion|kind)\b/.test(text);
}

/** The yaml package appends ` at line L, column C:` and a source excerpt; the position is reported separately. */
function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * Reads manifests from files, directories (recursively: *.yaml, *.yml, *.json) and `-` (standard input), in the
 * order given. A file named explicitly is read whatever its extension; a file reached twice is read once.
 */
export async function readManifests(paths: readonly string[], readStdin: () => Promise<string>, exclude?: ExcludePatterns): Promise<ManifestInput> {
  const result: ManifestInput = { documents: [], problems: [], skipped: [], files: 0 };
  const seen = new Set<string>();
  const add = (text: string, file: string): void => {
    const parsed = parseManifests(text, file, { chartTemplate: file !== STDIN_NAME && isInChartTemplates(file) });
    result.documents.push(...parsed.documents);
    result.problems.push(...parsed.problems);
    result.skipped.push(...parsed.skipped);
    result.files += parsed.files;
  };
  const readFile = (file: string): void => {
    const key = realPath(file);
    if (seen.has(key)) return;
    seen.add(key);
    try {
      add(readTextFile(file), file);
    } catch (error) {
      // Like broken YAML: a file that names no apiVersion or kind is some other file (an image, a Latin-1 note).
      if (error instanceof NotUtf8Error && !mentionsKubernetesObject(error.text)) {
        result.skipped.push({ file, reason: 'not-kubernetes', message: 'is not UTF-8 and names no apiVersion or kind' });
        result.files++;
        return;
      }
      result.problems.push({ file, message: `cannot read ${file}: ${reasonOf(error)}` });
    }
  };

  for (const path of paths) {
    if (path === '-') {
      let text: string;
      try {
        text = await readStdin();
      } catch (error) {
        result.problems.push({ file: STDIN_NAME, message: `cannot read ${STDIN_NAME}: ${reasonOf(error)}` });
        continue;
      }
      add(text, STDIN_NAME);
      continue;
    }
    if (exclude?.excludesNamedPath(path)) continue;
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
    const found = findManifestFiles(path, exclude);
    for (const { path: unreadable, reason } of found.unreadable) {
      result.problems.push({ file: unreadable, message: `cannot read ${unreadable}: ${reason}` });
    }
    for (const file of found.files) readFile(file);
  }
  return result;
}

/** The file a path reaches, through links, so a file reached twice is read once; a path that cannot be resolved is read (and reported) as given. */
function realPath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return resolve(file);
  }
}
