import jsonpatch, { type Operation } from 'fast-json-patch';
import { objectName } from '../annotations.ts';
import { mutateObject, validateObject } from '../admission/admit-object.ts';
import type { HandledKind } from '../admission/handled-kinds.ts';
import { knownEppServices } from '../admission/known-epp-services.ts';
import type { EnvoyFilterIndex } from '../cluster/envoyfilter-index.ts';
import type { InferencePoolResolver } from '../cluster/inference-pool.ts';
import type { ServiceResolver } from '../cluster/service-resolver.ts';
import type { WebhookConfig } from '../config.ts';
import { judgeEnvoyFilter, type ExtProcJudgement } from '../envoyfilter/talks-to-epp.ts';
import { PORT_PLACEHOLDER } from '../envoyfilter/epp-service-port.ts';
import type { Finding } from '../findings.ts';
import type { PathSegments } from '../json-path.ts';
import { isObject, type JsonObject } from '../json-value.ts';
import { lineOfPath, parseFormattedPath } from './locate-path.ts';
import type { ManifestDocument } from './read-manifests.ts';
import { isList, kindOf, listItem } from './webhook-objects.ts';

export interface ManifestAdmissionContext {
  config: WebhookConfig;
  resolver: ServiceResolver;
  /** The namespace of an object without metadata.namespace: where `kubectl apply -n` would create it. */
  defaultNamespace: string;
  /** InferencePools and the EnvoyFilters serving them: from the manifests, and the --services file or the cluster. */
  pools?: InferencePoolResolver;
  envoyFilters?: EnvoyFilterIndex;
  /** Set when pools may be missing only from the command line: replaces the fix of "InferencePool not found". */
  missingPoolFix?: string;
}

export interface LocatedFinding extends Finding {
  /** 1-based line in the file of `path` (or of its nearest ancestor that exists in the source). */
  line: number;
}

/** One EnvoyFilter, HTTPRoute or DestinationRule, as the webhook would answer its CREATE. */
export interface AdmittedObject {
  file: string;
  document: number;
  /** Where the object sits in its document: [] for the document itself, ['items', 3] for an item of a List. */
  at: PathSegments;
  line: number;
  kind: HandledKind;
  namespace: string;
  name: string;
  /** The object as it would be stored (the input itself when unchanged); absent when denied. */
  stored: unknown;
  /** The JSON patch the webhook would answer (empty when unchanged or denied). */
  patch: readonly Operation[];
  substitutions: number;
  findings: LocatedFinding[];
  /** Each ext_proc config of an EnvoyFilter: whether it was judged to talk to an EPP, and why. */
  extProc: LocatedJudgement[];
  admitted: boolean;
}

export interface LocatedJudgement extends ExtProcJudgement {
  line: number;
}

export interface AdmittedDocument {
  source: ManifestDocument;
  objects: AdmittedObject[];
  /**
   * The document as the API server would hold it: the webhook's patches applied to the source with fast-json-patch's
   * `applyPatch`, as the API server applies them, and denied objects left out (List items dropped; undefined for a
   * denied document). The source object itself when nothing changed.
   */
  stored: unknown;
  /** The operations that turn the source document into `stored` (the objects' patches, `remove` for dropped items). */
  patch: readonly Operation[];
}

/** Runs every EnvoyFilter, HTTPRoute and DestinationRule in the documents through the webhook's mutation, then its validation. */
export async function admitManifests(documents: readonly ManifestDocument[], context: ManifestAdmissionContext): Promise<AdmittedDocument[]> {
  const results: AdmittedDocument[] = [];
  for (const source of documents) results.push(await admitDocument(source, context));
  return results;
}

async function admitDocument(source: ManifestDocument, context: ManifestAdmissionContext): Promise<AdmittedDocument> {
  const document = source.object as JsonObject;
  if (isList(document)) {
    const objects: AdmittedObject[] = [];
    const patch: Operation[] = [];
    const dropped: number[] = [];
    for (const [index, entry] of document.items.entries()) {
      const item = listItem(document, entry);
      const kind = kindOf(item);
      if (kind === undefined) continue;
      const admitted = await admitObject(source, ['items', index], kind, item as JsonObject, context);
      objects.push(admitted);
      if (!admitted.admitted) dropped.push(index);
      for (const operation of admitted.patch) patch.push({ ...operation, path: `/items/${index}${operation.path}` });
    }
    // Last and from the end, so every earlier path still points where it was computed.
    for (const index of dropped.reverse()) patch.push({ op: 'remove', path: `/items/${index}` });
    return { source, objects, stored: applied(document, patch), patch };
  }
  const kind = kindOf(document);
  if (kind === undefined) return { source, objects: [], stored: document, patch: [] };
  const admitted = await admitObject(source, [], kind, document, context);
  return { source, objects: [admitted], stored: admitted.admitted ? applied(document, admitted.patch) : undefined, patch: admitted.patch };
}

/** The source with the patch applied by fast-json-patch (validating each operation), as the API server would store it. */
function applied(document: JsonObject, patch: readonly Operation[]): unknown {
  // structuredClone, not applyPatch's own JSON copy: YAML values JSON cannot hold (.inf, timestamps) stay as read.
  return patch.length === 0 ? document : jsonpatch.applyPatch(structuredClone(document), patch, true, true).newDocument;
}

async function admitObject(
  source: ManifestDocument,
  at: PathSegments,
  kind: HandledKind,
  object: JsonObject,
  context: ManifestAdmissionContext,
): Promise<AdmittedObject> {
  const { namespace: ownNamespace, name } = objectName(object);
  const namespace = ownNamespace || context.defaultNamespace;
  const mutation = await mutateObject(kind, object, namespace, { config: context.config, resolver: context.resolver, pools: context.pools, envoyFilters: context.envoyFilters });
  const mutationDenied = mutation.findings.some((f) => f.severity === 'deny');
  // The webhook would have stopped at the mutation's denial; going on reports every problem in one run. EPP106 (token
  // still present), and EPP310 on a port token istiod would get as a string, would then only restate why the mutation
  // did not substitute.
  const eppServices = kind === 'EnvoyFilter' ? await knownEppServices(namespace, context.resolver, context.config, context.pools?.endpointPickerServices()) : undefined;
  const restatesDenial = (f: Finding) => f.code === 'EPP106' || (f.code === 'EPP310' && valueAtPath(mutation.object, f.path) === PORT_PLACEHOLDER);
  const validation = validateObject(kind, mutation.object, context.config, eppServices, { namespace, envoyFilters: context.envoyFilters, pools: context.pools }).filter((f) => !(mutationDenied && restatesDenial(f)));
  const locate = (path: string) => lineOfPath(source.yaml, source.lineCounter, [...at, ...parseFormattedPath(path)]);
  const extProc = kind === 'EnvoyFilter' ? judgeEnvoyFilter(mutation.object, context.config, eppServices).map((j) => ({ ...j, line: locate(j.path) })) : [];

  const findings = distinct([...mutation.findings, ...validation])
    .filter((f) => f.severity !== 'off')
    .map((f) => (f.code === 'EPP109' && context.missingPoolFix !== undefined ? { ...f, fix: context.missingPoolFix } : f))
    .map((f) => (ownNamespace || !NOT_FOUND_IN_NAMESPACE.has(f.code) ? f : { ...f, fix: `${f.fix}; this object names no namespace, so it was checked in ${namespace} (--namespace); where a kustomization sets its namespace, check the built output: kustomize build DIR | epp-webhook check -` }))
    .map((f) => ({ ...f, line: locate(f.path) }))
    .sort((a, b) => a.line - b.line);
  const admitted = !findings.some((f) => f.severity === 'deny');
  return {
    file: source.file,
    document: source.document,
    at,
    line: lineOfPath(source.yaml, source.lineCounter, at),
    kind,
    namespace,
    name,
    stored: admitted ? mutation.object : undefined,
    patch: admitted ? mutation.patch : [],
    substitutions: admitted ? mutation.substitutions : 0,
    findings,
    extProc,
    admitted,
  };
}

/** Lookups by namespace that fail (the EPP Service, the InferencePool): for an object without one, the namespace was defaulted. */
const NOT_FOUND_IN_NAMESPACE = new Set(['EPP101', 'EPP109']);

/** Mutation and validation can both report the same problem (a malformed configPatches); say it once. */
function distinct(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.code} ${f.path}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The value at a finding's path (`spec.configPatches[1].patch.value...`), undefined where there is none. */
function valueAtPath(object: unknown, path: string): unknown {
  let value = object;
  for (const segment of parseFormattedPath(path)) value = isObject(value) || Array.isArray(value) ? (value as Record<string | number, unknown>)[segment] : undefined;
  return value;
}
