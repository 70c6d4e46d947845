import type { Operation } from 'fast-json-patch';
import { ANNOTATIONS } from '../annotations.ts';
import type { InferencePoolLookup } from '../cluster/inference-pool.ts';
import type { ServiceLookup } from '../cluster/service-resolver.ts';
import { containsAddress } from '../envoyfilter/address-in-text.ts';
import { annotationPointer, RESOURCE_VERSION_POINTER } from './annotation-pointer.ts';
import type { EnvoyFilterRecord } from './envoyfilter-record.ts';
import { addressRewrites, keepUnedited, recordedPortPaths, rewriteOperations } from './recorded-paths.ts';

/** Where an EnvoyFilter's pool points now: its endpointPickerRef Service and port. */
export interface PoolTarget {
  pool: string;
  service: string;
  port: number | undefined;
}

/** What the reconciler does about an EnvoyFilter whose InferencePool may name another EPP Service or port than it was resolved against. */
export type RepointDecision =
  /** The pool names the recorded Service and port (or cannot be followed): the ClusterIP decision applies. */
  | { kind: 'not-repointed' }
  | { kind: 'wait'; why: string }
  | { kind: 'service-missing'; service: string; why: string }
  | {
      kind: 'repoint';
      target: PoolTarget;
      fromService: string;
      /** clusterIP undefined: only EPP_SERVICE_PORT was substituted. */
      from: { clusterIP: string | undefined; port: number | undefined };
      to: { clusterIP: string | undefined; port: number | undefined };
      patch: Operation[];
      rewrittenPaths: string[];
      editedPaths: string[];
    }
  /** No recorded path holds the old values: as decideReconcile's, left alone, reported and dropped from the recorded paths by `patch`. */
  | { kind: 'edited-by-hand'; target: PoolTarget; editedPaths: string[]; change: string; held: string; to: string; patch: Operation[] };

/** The pool's current target, when the record is wired to a pool that names a Service; else undefined. */
export function poolTargetOf(record: EnvoyFilterRecord, lookup: InferencePoolLookup): PoolTarget | 'wait' | undefined {
  if (record.inferencePool === undefined) return undefined;
  if (lookup.kind === 'unavailable') return 'wait';
  if (lookup.kind === 'not-found') return undefined;
  const picker = lookup.pool.endpointPicker;
  if (picker === undefined || picker.kind !== 'Service') return undefined;
  return { pool: record.inferencePool, service: `${lookup.pool.namespace}/${picker.name}`, port: picker.port };
}

/**
 * Follows a pool repointed to another EPP Service (or port): the recorded address paths get the new ClusterIP, the
 * recorded port paths the new port, and the provenance names the new Service; paths edited by hand are left alone
 * and reported. Idempotent: its own result, read back, is `not-repointed`.
 */
export function decideRepoint(record: EnvoyFilterRecord, target: PoolTarget, service: ServiceLookup): RepointDecision {
  const provenance = record.provenance;
  if (provenance === undefined) return { kind: 'not-repointed' };
  const portChanged = target.port !== undefined && provenance.port !== undefined && provenance.port.port !== target.port && provenance.port.paths.length > 0;
  if (target.service === provenance.service && !portChanged) return { kind: 'not-repointed' };
  // Only a port was written (the address is a name the user wrote): another Service on the same port leaves nothing to rewrite.
  if (provenance.clusterIP === undefined && !portChanged) return { kind: 'not-repointed' };
  if (service.kind === 'unavailable') return { kind: 'wait', why: service.reason };
  const named = `InferencePool ${target.pool} now names Service ${target.service}`;
  if (service.kind === 'not-found') return { kind: 'service-missing', service: target.service, why: `${named}, which is not found` };
  const live = service.service;
  if (live.type === 'ExternalName' || live.clusterIP === '' || live.clusterIP === 'None') {
    return { kind: 'service-missing', service: target.service, why: `${named}, which has no ClusterIP (type ${live.type}, clusterIP ${JSON.stringify(live.clusterIP)})` };
  }
  const from = provenance.clusterIP;
  const to = live.clusterIP;

  const addressHolding: string[] = [];
  const addressEdited: string[] = [];
  let current = 0;
  for (const pointer of provenance.paths) {
    const value = record.valuesAtPaths[pointer];
    if (value !== undefined && from !== undefined && from !== to && containsAddress(value, from)) addressHolding.push(pointer);
    else if (value !== undefined && containsAddress(value, to)) current++;
    else addressEdited.push(pointer);
  }
  const ports = portChanged ? recordedPortPaths(provenance.port!, record, target.port!) : { holding: [], edited: [], current: 0 };
  const portHolding = ports.holding;
  const portEdited = ports.edited;
  current += ports.current;
  const editedPaths = [...addressEdited, ...portEdited];
  const change = [from === undefined ? undefined : `ClusterIP ${from} -> ${to}`, portChanged ? `port ${provenance.port!.port} -> ${target.port}` : undefined].filter(Boolean).join(', ');
  const held = [from, portChanged ? `port ${provenance.port!.port}` : undefined].filter(Boolean).join(' or ');
  const operations: Operation[] = [{ op: 'test', path: RESOURCE_VERSION_POINTER, value: record.resourceVersion }];
  if (addressHolding.length === 0 && portHolding.length === 0 && current === 0) {
    // Every recorded path was dropped by an earlier edited-by-hand: nothing of the webhook's is left to follow the pool with.
    if (editedPaths.length === 0) return { kind: 'not-repointed' };
    keepUnedited(operations, ANNOTATIONS.placeholderPaths, provenance.paths, addressEdited);
    if (portChanged) keepUnedited(operations, ANNOTATIONS.portPlaceholderPaths, provenance.port!.paths, portEdited);
    return { kind: 'edited-by-hand', target, editedPaths, change, held, to: from === undefined ? `${target.port}` : to, patch: operations };
  }

  const rewrites = rewriteOperations(addressRewrites(record, addressHolding, from!, to), portHolding, from === undefined ? undefined : { from, to });
  operations.push(...rewrites.operations);
  replaceAnnotation(operations, ANNOTATIONS.resolvedService, provenance.service, target.service);
  if (from !== undefined) replaceAnnotation(operations, ANNOTATIONS.resolvedClusterIP, from, to);
  if (portChanged) replaceAnnotation(operations, ANNOTATIONS.resolvedPort, String(provenance.port!.port), String(target.port));
  keepUnedited(operations, ANNOTATIONS.placeholderPaths, provenance.paths, addressEdited);
  if (portChanged) keepUnedited(operations, ANNOTATIONS.portPlaceholderPaths, provenance.port!.paths, portEdited);
  return {
    kind: 'repoint',
    target,
    fromService: provenance.service,
    from: { clusterIP: from, port: provenance.port?.port },
    to: { clusterIP: from === undefined ? undefined : to, port: portChanged ? target.port : provenance.port?.port },
    patch: operations,
    rewrittenPaths: rewrites.pointers,
    editedPaths,
  };
}

function replaceAnnotation(operations: Operation[], annotation: string, from: string, to: string): void {
  if (from === to) return;
  const pointer = annotationPointer(annotation);
  operations.push({ op: 'test', path: pointer, value: from }, { op: 'replace', path: pointer, value: to });
}
