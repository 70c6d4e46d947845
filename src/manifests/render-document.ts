import { isDeepStrictEqual } from 'node:util';
import type { Operation } from 'fast-json-patch';
import { isCollection, isScalar, stringify, type Document } from 'yaml';
import { fromJsonPointer } from '../json-path.ts';
import { KUBECTL_YAML } from './read-manifests.ts';

/** Close to kubectl's own YAML: sequences not indented under their key, `{a: b}` flow maps, no folded lines. */
const TO_STRING = { lineWidth: 0, indentSeq: false, flowCollectionPadding: false } as const;

/**
 * One document of multi-document YAML, starting with `---`. An unchanged document is re-emitted from its own syntax
 * tree, so its comments, quoting and anchors survive; a changed one gets the webhook's patch applied to a copy of
 * that tree. Whenever the copy does not read back as exactly `stored` (the same patch applied to the data), the data
 * is written afresh instead: the content must be right, the comments are a courtesy. JSON documents are always
 * written afresh, as block YAML.
 */
export function renderYamlDocument(source: Document.Parsed, patch: readonly Operation[], stored: unknown): string {
  // JSON input has no comments to keep, and its flow style would read oddly once YAML is mixed in.
  if (isCollection(source.contents) && source.contents.flow) return freshYaml(stored);
  try {
    const copy = source.clone();
    if (copy.directives !== undefined) copy.directives.docStart = true;
    if (patch.length > 0) {
      for (const operation of patch) applyOperation(copy, operation);
      if (!isDeepStrictEqual(copy.toJS(), stored)) return freshYaml(stored);
    }
    const text = copy.toString(TO_STRING);
    // A document with directives (%YAML) may only follow a document that was closed with `...`.
    return text.startsWith('%') ? `...\n${text}` : text;
  } catch {
    return freshYaml(stored);
  }
}

/** As YAML 1.1, so strings like `on` and `yes` come out quoted and kubectl reads them back as strings. */
function freshYaml(value: unknown): string {
  return `---\n${stringify(value, { version: KUBECTL_YAML.version, ...TO_STRING })}`;
}

function applyOperation(document: Document, operation: Operation): void {
  const path = fromJsonPointer(operation.path);
  if (path === undefined || path.length === 0) throw new Error(`cannot apply ${operation.op} at ${JSON.stringify(operation.path)}`);
  switch (operation.op) {
    case 'remove':
      document.deleteIn(path);
      return;
    case 'add':
    case 'replace': {
      const existing = document.getIn(path, true);
      // Changing the scalar in place keeps its comment and quoting.
      if (isScalar(existing) && (operation.value === null || typeof operation.value !== 'object')) existing.value = operation.value;
      else document.setIn(path, document.createNode(operation.value));
      return;
    }
    default:
      throw new Error(`unexpected patch operation ${operation.op}`);
  }
}
