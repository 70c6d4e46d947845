/**
 * Envoy (the PyPI build of upstream Envoy) as the gateway Pod's proxy: its bootstrap says what pilot-agent's would
 * say to istiod about a Gateway API gateway Pod (a `router` node in the Gateway's namespace carrying the label
 * gateway.networking.k8s.io/gateway-name), and takes every listener, route and cluster from istiod over ADS.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startProcess, waitFor, type ManagedProcess } from '../../e2e/harness/processes.ts';

export interface EnvoyProcess {
  adminUrl: string;
  process: ManagedProcess;
  log(): string;
  /** GET on the admin interface. */
  admin(path: string): Promise<string>;
  /** Counters and gauges as a map (admin /stats?format=json). */
  stats(filter?: string): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

export async function startEnvoy(options: {
  binary: string;
  dir: string;
  xdsPort: number;
  namespace: string;
  gatewayName: string;
  podName: string;
  podIP: string;
  /**
   * How Envoy takes its config over ADS: state of the world (`GRPC`, the default here) or incremental (`DELTA_GRPC`,
   * what pilot-agent writes for istio-proxy while ISTIO_DELTA_XDS is on, its default: pkg/bootstrap/config.go).
   */
  xds?: 'GRPC' | 'DELTA_GRPC';
  /** Names the bootstrap and log files apart from the first Envoy's (envoy-bootstrap.json, envoy.log). */
  logName?: string;
}): Promise<EnvoyProcess> {
  const adminPort = await freePort();
  const bootstrap = {
    node: {
      id: `router~${options.podIP}~${options.podName}.${options.namespace}~${options.namespace}.svc.cluster.local`,
      cluster: `${options.gatewayName}-istio.${options.namespace}`,
      metadata: {
        NAMESPACE: options.namespace,
        NAME: options.podName,
        CLUSTER_ID: 'Kubernetes',
        INSTANCE_IPS: options.podIP,
        LABELS: { 'gateway.networking.k8s.io/gateway-name': options.gatewayName, 'service.istio.io/canonical-name': `${options.gatewayName}-istio` },
        WORKLOAD_NAME: `${options.gatewayName}-istio`,
        SERVICE_ACCOUNT: `${options.gatewayName}-istio`,
      },
    },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    dynamic_resources: {
      ads_config: {
        api_type: options.xds ?? 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }],
        set_node_on_first_message_only: true,
      },
      cds_config: { ads: {}, resource_api_version: 'V3' },
      lds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: {
      clusters: [
        {
          name: 'xds-grpc',
          type: 'STATIC',
          connect_timeout: '1s',
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
          load_assignment: {
            cluster_name: 'xds-grpc',
            endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: options.xdsPort } } } }] }],
          },
        },
      ],
    },
  };
  const file = join(options.dir, `${options.logName ?? 'envoy'}-bootstrap.json`);
  writeFileSync(file, JSON.stringify(bootstrap, null, 2));
  const logFile = join(options.dir, `${options.logName ?? 'envoy'}.log`);
  const child = startProcess(options.binary, ['-c', file, '--concurrency', '1', '--base-id', String(adminPort), '-l', 'info', '--drain-time-s', '1'], logFile);
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await waitFor(
    `Envoy's admin ${adminUrl} (log: ${logFile})`,
    async () => {
      if (child.child.exitCode !== null) throw new Error(`envoy exited with ${child.child.exitCode}: ${readFileSync(logFile, 'utf8').slice(-3000)}`);
      return (await fetch(`${adminUrl}/server_info`)).status === 200 ? true : undefined;
    },
    60_000,
  );
  const admin = async (path: string) => (await fetch(`${adminUrl}${path}`)).text();
  return {
    adminUrl,
    process: child,
    log: () => readFileSync(logFile, 'utf8'),
    admin,
    async stats(filter?: string) {
      const json = JSON.parse(await admin(`/stats?format=json${filter ? `&filter=${encodeURIComponent(filter)}` : ''}`));
      return new Map<string, number>(json.stats.filter((s: any) => typeof s.value === 'number').map((s: any) => [s.name, s.value]));
    },
    stop: () => child.stop(3000),
  };
}
