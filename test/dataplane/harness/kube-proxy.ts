/**
 * Stands in for kube-proxy: a Service's ClusterIP (a loopback address from --service-cluster-ip-range) answers on each
 * Service port and forwards the connection to a Ready endpoint's podIP:targetPort, as kube-proxy's DNAT does. When the
 * Service goes away, so does its listener: its old ClusterIP refuses connections.
 */
import { createServer, connect, type Server } from 'node:net';
import type { ServiceEndpoints } from './service-endpoints.ts';

export class KubeProxy {
  private readonly listeners = new Map<string, { server: Server; targets: string[] }>();

  /** Opens and closes listeners to match these Services and their endpoints. */
  async reconcile(services: ServiceEndpoints[]): Promise<void> {
    const wanted = new Map<string, string[]>();
    for (const { service, targets } of services) {
      const clusterIP = service.spec.clusterIP;
      if (!clusterIP || clusterIP === 'None' || !clusterIP.startsWith('127.')) continue;
      service.spec.ports.forEach((port: any, i: number) => wanted.set(`${clusterIP}:${port.port}`, targets[i]));
    }
    for (const [address, entry] of this.listeners) {
      if (!wanted.has(address)) {
        this.listeners.delete(address);
        entry.server.close();
      }
    }
    for (const [address, targets] of wanted) {
      const existing = this.listeners.get(address);
      if (existing) {
        existing.targets = targets;
        continue;
      }
      const entry = { server: createServer(), targets };
      entry.server.on('connection', (client) => {
        const target = entry.targets[Math.floor(Math.random() * entry.targets.length)];
        if (!target) return client.destroy();
        const [host, port] = target.split(':');
        const upstream = connect(Number(port), host);
        client.pipe(upstream).pipe(client);
        const close = () => (client.destroy(), upstream.destroy());
        client.on('error', close).on('close', close);
        upstream.on('error', close).on('close', close);
      });
      const [host, port] = address.split(':');
      entry.server.on('error', () => this.listeners.delete(address));
      this.listeners.set(address, entry);
      await new Promise<void>((resolve) => entry.server.listen(Number(port), host, resolve).once('error', () => resolve()));
    }
  }

  async close(): Promise<void> {
    for (const { server } of this.listeners.values()) server.close();
    this.listeners.clear();
  }
}
