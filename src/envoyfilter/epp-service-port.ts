import type { ServiceRecord } from '../cluster/service-resolver.ts';
import type { EppTarget } from './epp-target.ts';

/** The token replaced by the EPP Service's port number, written as a string where Envoy expects a number. */
export const PORT_PLACEHOLDER = 'EPP_SERVICE_PORT';
/** The port name the llm-d and GAIE charts give the EPP's ext_proc port. */
export const EXT_PROC_PORT_NAME = 'grpc-ext-proc';

/**
 * The port that replaces EPP_SERVICE_PORT: the pool's endpointPickerRef port; without a pool, the Service's port
 * named grpc-ext-proc, else its only port. `why` says what is missing, for a denial.
 */
export function eppServicePort(target: EppTarget, service: ServiceRecord): { port: number } | { why: string } {
  if (target.pool !== undefined) {
    const port = target.pool.endpointPicker?.port;
    return port === undefined ? { why: `InferencePool ${target.pool.namespace}/${target.pool.name} gives no port in its endpointPickerRef` } : { port };
  }
  return servicePortOf(service);
}

/** The EPP's ext_proc port of a Service no pool speaks for: the port named grpc-ext-proc, else its only port. */
export function servicePortOf(service: ServiceRecord): { port: number } | { why: string } {
  const named = service.ports.find((p) => p.name === EXT_PROC_PORT_NAME);
  if (named !== undefined) return { port: named.port };
  if (service.ports.length === 1) return { port: service.ports[0].port };
  const listed = service.ports.map((p) => (p.name ? `${p.name}:${p.port}` : String(p.port))).join(', ');
  return {
    why:
      service.ports.length === 0
        ? `no ports are known for Service ${service.namespace}/${service.name}`
        : `Service ${service.namespace}/${service.name} has ${service.ports.length} ports (${listed}) and none is named ${EXT_PROC_PORT_NAME}`,
  };
}
