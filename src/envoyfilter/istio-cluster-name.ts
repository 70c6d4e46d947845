/** An outbound cluster name as istiod builds it: `outbound|<port>|<subset>|<host>` (model.BuildSubsetKey). */
export interface IstioClusterName {
  port: number;
  subset: string;
  host: string;
}

/** The port as strconv.Itoa writes one: 1-65535, no leading zero. */
const OUTBOUND = /^outbound\|([1-9]\d{0,4})\|([^|]*)\|([^|]+)$/;

/** The parts of a name istiod would give one of its own outbound clusters; undefined for any other name. */
export function parseIstioClusterName(name: string): IstioClusterName | undefined {
  const m = OUTBOUND.exec(name);
  if (m === null || Number(m[1]) > 65535) return undefined;
  return { port: Number(m[1]), subset: m[2], host: m[3] };
}
