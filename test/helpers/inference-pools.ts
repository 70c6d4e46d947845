import { StaticServiceResolver } from '../../src/cluster/static-resolver.ts';
import { StaticInferencePools } from '../../src/cluster/static-inference-pools.ts';

export const POOL_NS = 'llm-d';

/** Two EPP Services of two pools, and the odd ones the rules must refuse. */
export function poolServices(): StaticServiceResolver {
  return StaticServiceResolver.fromRecords([
    { namespace: POOL_NS, name: 'epp-a', type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ name: 'grpc-ext-proc', port: 9002 }, { name: 'http-metrics', port: 9090 }] },
    { namespace: POOL_NS, name: 'epp-b', type: 'ClusterIP', clusterIP: '10.96.0.20', ports: [{ port: 9003 }] },
    { namespace: POOL_NS, name: 'epp-two-ports', type: 'ClusterIP', clusterIP: '10.96.0.30', ports: [{ name: 'grpc', port: 9002 }, { name: 'metrics', port: 9090 }] },
    { namespace: POOL_NS, name: 'epp-headless', type: 'ClusterIP', clusterIP: 'None', ports: [{ port: 9002 }] },
    { namespace: POOL_NS, name: 'gaie-inference-scheduling-epp', type: 'ClusterIP', clusterIP: '10.96.0.99', ports: [{ name: 'grpc-ext-proc', port: 9002 }] },
  ]);
}

export function v1Pool(name: string, endpointPickerRef: Record<string, unknown> | undefined, namespace = POOL_NS) {
  return {
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name, namespace },
    spec: { selector: { matchLabels: { app: name } }, targetPorts: [{ number: 8000 }], ...(endpointPickerRef ? { endpointPickerRef } : {}) },
  };
}

export function v1alpha2Pool(name: string, extensionRef: Record<string, unknown>, namespace = POOL_NS) {
  return {
    apiVersion: 'inference.networking.x-k8s.io/v1alpha2',
    kind: 'InferencePool',
    metadata: { name, namespace },
    spec: { selector: { app: name }, targetPortNumber: 8000, extensionRef },
  };
}

export function pools(...objects: unknown[]): StaticInferencePools {
  return StaticInferencePools.fromObjects(objects, 'the test pools');
}

/** The guide's EnvoyFilter shape, with both placeholders and the given annotations and failure_mode_allow. */
export function poolEnvoyFilter(options: { name?: string; annotations?: Record<string, string>; failureModeAllow?: boolean; portValue?: unknown; address?: string } = {}) {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name: options.name ?? 'epp-ext-proc', namespace: POOL_NS, annotations: { ...options.annotations } },
    spec: {
      configPatches: [
        {
          applyTo: 'HTTP_FILTER',
          match: { context: 'GATEWAY', listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.router' } } } } },
          patch: {
            operation: 'INSERT_BEFORE',
            value: {
              name: 'envoy.filters.http.ext_proc',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
                grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' }, timeout: '2s' },
                ...(options.failureModeAllow === undefined ? {} : { failure_mode_allow: options.failureModeAllow }),
                processing_mode: { request_header_mode: 'SEND', request_body_mode: 'FULL_DUPLEX_STREAMED', request_trailer_mode: 'SEND', response_header_mode: 'SEND', response_body_mode: 'FULL_DUPLEX_STREAMED', response_trailer_mode: 'SEND' },
              },
            },
          },
        },
        {
          applyTo: 'CLUSTER',
          match: { context: 'GATEWAY' },
          patch: {
            operation: 'ADD',
            value: {
              name: 'epp-cluster',
              type: 'STATIC',
              connect_timeout: '2s',
              http2_protocol_options: {},
              load_assignment: {
                cluster_name: 'epp-cluster',
                endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: options.address ?? 'EPP_SERVICE_CLUSTER_IP', port_value: options.portValue ?? 'EPP_SERVICE_PORT' } } } }] }],
              },
            },
          },
        },
      ],
    },
  };
}

export const SOCKET = '/spec/configPatches/1/patch/value/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address';

export function socketOf(object: any): { address: unknown; port_value: unknown } {
  return object.spec.configPatches[1].patch.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
}
