import type { Operation } from 'fast-json-patch';
import { ANNOTATIONS } from '../annotations.ts';
import type { ServiceLookup } from '../cluster/service-resolver.ts';
import { containsAddress } from '../envoyfilter/address-in-text.ts';
import { annotationPointer, RESOURCE_VERSION_POINTER } from './annotation-pointer.ts';
import { servicePortOf } from '../envoyfilter/epp-service-port.ts';
import type { EnvoyFilterRecord } from './envoyfilter-record.ts';
import { addressRewrites, keepUnedited, recordedPortPaths, rewriteOperations } from './recorded-paths.ts';

/** What the reconciler does about one EnvoyFilter, decided from its record and its Service's live state alone. */
export type ReconcileDecision =
  /** Nothing to write: the stored addresses and ports are true (or were never the webhook's). */
  | { kind: 'unchanged'; why: string }
  /** The Service's ClusterIP (or, with no pool, its ext_proc port) changed: rewrite the recorded paths that still hold the old value. */
  | {
      kind: 'rewrite';
      service: string;
      /** What changed, for Events: `ClusterIP 10.0.0.1 -> 10.0.0.2`, `port 9002 -> 9012`, or both. */
      change: string;
      /** The old values the recorded paths held, for a report of paths edited by hand. */
      held: string;
      /** The values written: the ClusterIP (or the old one, when only the port changed) and the port. */
      to: { clusterIP: string | undefined; port: number | undefined };
      /** RFC 6902, guarded by `test` ops on the resourceVersion and on every value it replaces. */
      patch: Operation[];
      rewrittenPaths: string[];
      /** Recorded paths that hold neither value (edited by hand): left alone, dropped from the recorded list, reported. */
      editedPaths: string[];
    }
  /**
   * The value changed but no recorded path holds the old one any more: leave them, report, and drop them from the
   * recorded paths (`patch`), so that the next change of the Service neither rewrites nor reports them again.
   */
  | { kind: 'edited-by-hand'; service: string; change: string; held: string; to: string; editedPaths: string[]; patch: Operation[] }
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
  // Every recorded path was edited by hand and dropped: the Service it names is kept true nowhere, so its absence is no alarm.
  if (provenance.paths.length === 0 && (provenance.port?.paths.length ?? 0) === 0 && !record.hasPlaceholder) {
    return { kind: 'unchanged', why: `no recorded paths left: nothing of Service ${provenance.service} to keep` };
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
  const ipChanged = from !== undefined && from !== to && provenance.paths.length > 0;
  // Without a pool the port came from the Service (its grpc-ext-proc port, else its only one); a pool's is followed by decideRepoint.
  const livePort = record.inferencePool === undefined && provenance.port !== undefined ? servicePortOf(live) : undefined;
  const portTo = livePort !== undefined && 'port' in livePort ? livePort.port : undefined;
  const portChanged = portTo !== undefined && portTo !== provenance.port!.port && provenance.port!.paths.length > 0;
  if (!ipChanged && !portChanged) {
    if (record.hasPlaceholder) return { kind: 'resolve-placeholder' };
    if (from !== undefined && from !== to) return { kind: 'unchanged', why: 'no recorded placeholder paths' };
    return { kind: 'unchanged', why: from === undefined ? `port ${provenance.port?.port} unchanged` : `ClusterIP ${to} unchanged` };
  }

  const holding: string[] = [];
  const edited: string[] = [];
  let current = 0;
  if (ipChanged) {
    for (const pointer of provenance.paths) {
      const value = record.valuesAtPaths[pointer];
      if (value !== undefined && containsAddress(value, from!)) holding.push(pointer);
      else if (value !== undefined && containsAddress(value, to)) current++;
      else edited.push(pointer);
    }
  }
  const ports = portChanged ? recordedPortPaths(provenance.port!, record, portTo!) : { holding: [], edited: [], current: 0 };
  const portHolding = ports.holding;
  const portEdited = ports.edited;
  current += ports.current;
  const change = [ipChanged ? `ClusterIP ${from} -> ${to}` : undefined, portChanged ? `port ${provenance.port!.port} -> ${portTo}` : undefined].filter(Boolean).join(', ');
  const held = [ipChanged ? from : undefined, portChanged ? `port ${provenance.port!.port}` : undefined].filter(Boolean).join(' or ');
  const editedPaths = [...edited, ...portEdited];
  const operations: Operation[] = [{ op: 'test', path: RESOURCE_VERSION_POINTER, value: record.resourceVersion }];
  if (holding.length === 0 && portHolding.length === 0 && current === 0) {
    if (ipChanged) keepUnedited(operations, ANNOTATIONS.placeholderPaths, provenance.paths, edited);
    if (portChanged) keepUnedited(operations, ANNOTATIONS.portPlaceholderPaths, provenance.port!.paths, portEdited);
    return { kind: 'edited-by-hand', service: provenance.service, change, held, to: ipChanged ? to : `${portTo}`, editedPaths, patch: operations };
  }

  const rewrites = rewriteOperations(ipChanged ? addressRewrites(record, holding, from!, to) : [], portHolding, ipChanged ? { from: from!, to } : undefined);
  operations.push(...rewrites.operations);
  if (ipChanged) {
    const ipAnnotation = annotationPointer(ANNOTATIONS.resolvedClusterIP);
    operations.push({ op: 'test', path: ipAnnotation, value: from }, { op: 'replace', path: ipAnnotation, value: to });
    keepUnedited(operations, ANNOTATIONS.placeholderPaths, provenance.paths, edited);
  }
  if (portChanged) {
    const portAnnotation = annotationPointer(ANNOTATIONS.resolvedPort);
    operations.push({ op: 'test', path: portAnnotation, value: String(provenance.port!.port) }, { op: 'replace', path: portAnnotation, value: String(portTo) });
    keepUnedited(operations, ANNOTATIONS.portPlaceholderPaths, provenance.port!.paths, portEdited);
  }
  return {
    kind: 'rewrite',
    service: provenance.service,
    change,
    held,
    to: { clusterIP: ipChanged ? to : from, port: portChanged ? portTo : provenance.port?.port },
    patch: operations,
    rewrittenPaths: rewrites.pointers,
    editedPaths,
  };
}
