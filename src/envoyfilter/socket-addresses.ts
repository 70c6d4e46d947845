import type { PathSegments } from '../json-path.ts';
import { envoyField, envoyFieldKey, isObject, type JsonObject } from '../json-value.ts';
import { readOnce } from '../read-once.ts';

/** One endpoint's socket_address in a cluster's load_assignment, and the path to it from the cluster; shared by the rules that read it. */
export interface ClusterSocket {
  readonly segments: PathSegments;
  readonly socket: Readonly<JsonObject>;
  /** Its `address`, read as istiod reads it (any JSON may stand there). */
  readonly address: unknown;
}

/**
 * Every socket_address of a cluster's load_assignment, read as istiod converts the cluster (envoyField). Read once per
 * cluster (read-once.ts): five rules walk them.
 */
export const socketAddresses: (cluster: JsonObject) => readonly ClusterSocket[] = readOnce(readSocketAddresses);

function readSocketAddresses(cluster: JsonObject): ClusterSocket[] {
  const sockets: ClusterSocket[] = [];
  const assignmentKey = envoyFieldKey(cluster, 'load_assignment');
  const assignment = cluster[assignmentKey];
  const endpoints = isObject(assignment) ? envoyField(assignment, 'endpoints') : undefined;
  if (!Array.isArray(endpoints)) return sockets;
  for (let e = 0; e < endpoints.length; e++) {
    const locality: unknown = endpoints[e];
    if (!isObject(locality)) continue;
    const lbKey = envoyFieldKey(locality, 'lb_endpoints');
    const lbEndpoints = locality[lbKey];
    if (!Array.isArray(lbEndpoints)) continue;
    for (let l = 0; l < lbEndpoints.length; l++) {
      const lb: unknown = lbEndpoints[l];
      const endpoint = isObject(lb) ? envoyField(lb, 'endpoint') : undefined;
      const address = isObject(endpoint) ? envoyField(endpoint, 'address') : undefined;
      if (!isObject(address)) continue;
      const socketKey = envoyFieldKey(address, 'socket_address');
      const socket = address[socketKey];
      if (isObject(socket)) sockets.push({ segments: [assignmentKey, 'endpoints', e, lbKey, l, 'endpoint', 'address', socketKey], socket, address: envoyField(socket, 'address') });
    }
  }
  return sockets;
}
