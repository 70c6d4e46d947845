import { envoyField, isObject, isSet, type JsonObject } from '../json-value.ts';
import { readOnce } from '../read-once.ts';

/**
 * The member of a GrpcService's target oneof that reaches Envoy. With both written, google_grpc, in either order and
 * spelling: istiod reads patch.value with its keys sorted, and jsonpb keeps a oneof's last member (asked of istiod and
 * Envoy 1.40: test/oracle/corpus/wiring-families.ts, the both-grpc-kinds entries).
 */
export function keptGrpcTarget(grpc: JsonObject): 'envoy_grpc' | 'google_grpc' | undefined {
  return (['google_grpc', 'envoy_grpc'] as const).find((field) => isSet(grpc, field));
}

/** The cluster an ext_proc config (or a per-route override) sends its gRPC or HTTP calls to; read once per config (read-once.ts). */
export const targetCluster: (config: JsonObject) => Readonly<TargetCluster> | undefined = readOnce(readTargetCluster);

interface TargetCluster {
  name: string;
  via: 'grpc' | 'http';
}

function readTargetCluster(config: JsonObject): TargetCluster | undefined {
  const grpc = envoyField(config, 'grpc_service');
  if (isObject(grpc)) {
    const envoyGrpc = keptGrpcTarget(grpc) === 'envoy_grpc' ? envoyField(grpc, 'envoy_grpc') : undefined;
    const name = isObject(envoyGrpc) ? envoyField(envoyGrpc, 'cluster_name') : undefined;
    return typeof name === 'string' ? { name, via: 'grpc' } : undefined;
  }
  // ExtProcHttpService {http_service: HttpService {http_uri: {cluster}}}
  const outer = envoyField(config, 'http_service');
  const inner = isObject(outer) ? envoyField(outer, 'http_service') : undefined;
  const uri = isObject(inner) ? envoyField(inner, 'http_uri') : undefined;
  const name = isObject(uri) ? envoyField(uri, 'cluster') : undefined;
  return typeof name === 'string' ? { name, via: 'http' } : undefined;
}
