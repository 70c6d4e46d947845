import { envoyField, isObject, type JsonObject } from '../json-value.ts';

/** The cluster an ext_proc config (or a per-route override) sends its gRPC or HTTP calls to. */
export function targetCluster(config: JsonObject): { name: string; via: 'grpc' | 'http' } | undefined {
  const grpc = envoyField(config, 'grpc_service');
  if (isObject(grpc)) {
    const envoyGrpc = envoyField(grpc, 'envoy_grpc');
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
