/** Reading what istiod gave Envoy, and waiting for a change to arrive. */
import { waitFor } from '../../e2e/harness/processes.ts';
import type { EnvoyProcess } from './envoy-process.ts';

export interface XdsCounters {
  ldsSuccess: number;
  ldsRejected: number;
  cdsSuccess: number;
  cdsRejected: number;
}

export async function xdsCounters(envoy: EnvoyProcess): Promise<XdsCounters> {
  const stats = await envoy.stats('(lds|cds)\\.update_(success|rejected)');
  return {
    ldsSuccess: stats.get('listener_manager.lds.update_success') ?? 0,
    ldsRejected: stats.get('listener_manager.lds.update_rejected') ?? 0,
    cdsSuccess: stats.get('cluster_manager.cds.update_success') ?? 0,
    cdsRejected: stats.get('cluster_manager.cds.update_rejected') ?? 0,
  };
}

/** The Gateway listener (Envoy's listener on `port`) as Envoy took it from istiod, whole. */
export async function gatewayListener(envoy: EnvoyProcess, port: number): Promise<any> {
  const dump = JSON.parse(await envoy.admin('/config_dump?resource=dynamic_listeners'));
  return (dump.configs ?? []).map((entry: any) => entry.active_state?.listener).find((listener: any) => listener?.address?.socket_address?.port_value === port);
}

/** The typed_config of the Gateway listener's HTTP connection manager. */
export async function connectionManager(envoy: EnvoyProcess, port: number): Promise<any> {
  const listener = await gatewayListener(envoy, port);
  for (const chain of listener?.filter_chains ?? []) {
    for (const filter of chain.filters ?? []) if (filter.name === 'envoy.filters.network.http_connection_manager') return filter.typed_config;
  }
  return undefined;
}

/** The names of Envoy's HTTP filters on the Gateway listener's connection manager, in order. */
export async function httpFilters(envoy: EnvoyProcess, port: number): Promise<{ name: string; config: any }[]> {
  const manager = await connectionManager(envoy, port);
  return (manager?.http_filters ?? []).map((f: any) => ({ name: f.name, config: f.typed_config }));
}

export async function routeConfig(envoy: EnvoyProcess): Promise<any[]> {
  const dump = JSON.parse(await envoy.admin('/config_dump?resource=dynamic_route_configs'));
  return (dump.configs ?? []).map((c: any) => c.route_config);
}

/** The clusters istiod pushed (CDS) as Envoy keeps them, whole. */
export async function dynamicClusters(envoy: EnvoyProcess): Promise<any[]> {
  const dump = JSON.parse(await envoy.admin('/config_dump?resource=dynamic_active_clusters'));
  return (dump.configs ?? []).map((c: any) => c.cluster);
}

export async function clusterNames(envoy: EnvoyProcess): Promise<string[]> {
  const text = await envoy.admin('/clusters?format=json');
  return JSON.parse(text).cluster_statuses.map((c: any) => c.name);
}

/**
 * Waits until istiod has pushed a change and Envoy has taken it (both an LDS and a CDS update accepted or rejected
 * after `before`), and `ready` holds.
 */
export async function waitForPush(envoy: EnvoyProcess, before: XdsCounters, ready: () => Promise<boolean> = async () => true, timeoutMs = 30_000): Promise<XdsCounters> {
  return waitFor(
    'istiod to push the change to Envoy',
    async () => {
      const now = await xdsCounters(envoy);
      const lds = now.ldsSuccess + now.ldsRejected > before.ldsSuccess + before.ldsRejected;
      const cds = now.cdsSuccess + now.cdsRejected > before.cdsSuccess + before.cdsRejected;
      return lds && cds && (await ready()) ? now : undefined;
    },
    timeoutMs,
    200,
  );
}
