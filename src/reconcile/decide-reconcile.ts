import type { Operation } from 'fast-json-patch';
import { ANNOTATIONS } from '../annotations.ts';
import type { ServiceLookup } from '../cluster/service-resolver.ts';
import { containsAddress, replaceAddress } from './address-in-text.ts';
import { annotationPointer, RESOURCE_VERSION_POINTER } from './annotation-pointer.ts';
import type { EnvoyFilterRecord, Provenance } from './envoyfilter-record.ts';

/** What the reconciler does about one EnvoyFilter, decided from its record and its Service's live state alone. */
export type ReconcileDecision =
  /** Nothing to write: the stored addresses are true (or were never the webhook's). */
  | { kind: 'unchanged'; why: string }
  /** The Service's ClusterIP changed: rewrite the recorded paths that still hold the old one. */
  | {
      kind: 'rewrite';
      service: string;
      from: string;
      to: string;
      /** RFC 6902, guarded by `test` ops on the resourceVersion and on every value it replaces. */
      patch: Operation[];
      rewrittenPaths: string[];
      /** Recorded paths that hold neither address (edited by hand): left alone, dropped from the recorded list, reported. */
      editedPaths: string[];
    }
  /** The ClusterIP changed but no recorded path holds the old address any more: write nothing, report. */
  | { kind: 'edited-by-hand'; service: string; from: string; to: string; editedPaths: string[] }
  /** The raw token is still stored: read the whole object and substitute it with the webhook's own core. */
  | { kind: 'resolve-placeholder' }
  /** The recorded Service is gone (or has no ClusterIP now): leave the object as it is, report. */
  | { kind: 'service-missing'; service: string; why: string }
  /** The Service cache cannot answer yet: decide again later. */
  | { kind: 'wait'; why: string };

/** The Service an EnvoyFilter's provenance names, to look up before deciding; undefined when it has none. */
export function recordedService(record: EnvoyFilterRecord): { namespace: string; name: string } | undefined {
  if (record.provenance === undefined) return undefined;
  const [namespace, name] = record.provenance.service.split('/');
  return { namespace, name };
}

/**
 * Decides what keeps this EnvoyFilter's substituted addresses true. Idempotent: applied to the object its own
 * patch produced (with the same Service), it answers `unchanged`, so the reconciler's writes never trigger writes.
 *
 * `service` is the lookup of `recordedService(record)`; it is only read when the record has provenance.
 */
export function decideReconcile(record: EnvoyFilterRecord, service: ServiceLookup | undefined): ReconcileDecision {
  const provenance = record.provenance;
  if (provenance === undefined) {
    return record.hasPlaceholder ? { kind: 'resolve-placeholder' } : { kind: 'unchanged', why: 'no provenance annotations: not substituted by the webhook' };
  }
  if (service === undefined || service.kind === 'unavailable') {
    return { kind: 'wait', why: service?.kind === 'unavailable' ? service.reason : `Service ${provenance.service} not looked up` };
  }
  if (service.kind === 'not-found') return { kind: 'service-missing', service: provenance.service, why: `Service ${provenance.service} not found` };
  const live = service.service;
  if (live.type === 'ExternalName' || live.clusterIP === '' || live.clusterIP === 'None') {
    return { kind: 'service-missing', service: provenance.service, why: `Service ${provenance.service} has no ClusterIP now (type ${live.type}, clusterIP ${JSON.stringify(live.clusterIP)})` };
  }
  const from = provenance.clusterIP;
  const to = live.clusterIP;
  if (from === to) {
    return record.hasPlaceholder ? { kind: 'resolve-placeholder' } : { kind: 'unchanged', why: `ClusterIP ${to} unchanged` };
  }
  if (provenance.paths.length === 0) return { kind: 'unchanged', why: 'no recorded placeholder paths' };

  const holding: string[] = [];
  const current: string[] = [];
  const edited: string[] = [];
  for (const pointer of provenance.paths) {
    const value = record.valuesAtPaths[pointer];
    if (value !== undefined && containsAddress(value, from)) holding.push(pointer);
    else if (value !== undefined && containsAddress(value, to)) current.push(pointer);
    else edited.push(pointer);
  }
  if (holding.length === 0 && current.length === 0) {
    return { kind: 'edited-by-hand', service: provenance.service, from, to, editedPaths: edited };
  }
  return {
    kind: 'rewrite',
    service: provenance.service,
    from,
    to,
    patch: rewritePatch(record, provenance, to, holding, edited.length > 0 ? [...holding, ...current].sort() : undefined),
    rewrittenPaths: holding,
    editedPaths: edited,
  };
}

function rewritePatch(record: EnvoyFilterRecord, provenance: Provenance, to: string, holding: string[], keptPaths: string[] | undefined): Operation[] {
  const operations: Operation[] = [{ op: 'test', path: RESOURCE_VERSION_POINTER, value: record.resourceVersion }];
  for (const pointer of holding) {
    const value = record.valuesAtPaths[pointer] as string;
    operations.push({ op: 'test', path: pointer, value }, { op: 'replace', path: pointer, value: replaceAddress(value, provenance.clusterIP, to) });
  }
  const ipAnnotation = annotationPointer(ANNOTATIONS.resolvedClusterIP);
  operations.push({ op: 'test', path: ipAnnotation, value: provenance.clusterIP }, { op: 'replace', path: ipAnnotation, value: to });
  if (keptPaths !== undefined) {
    operations.push({ op: 'replace', path: annotationPointer(ANNOTATIONS.placeholderPaths), value: JSON.stringify(keptPaths) });
  }
  return operations;
}
