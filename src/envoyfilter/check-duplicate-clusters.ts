import { isDeepStrictEqual } from 'node:util';
import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { isObject, type JsonObject } from '../json-value.ts';
import { addsCluster, patchLocation, type ConfigPatch } from './config-patches.ts';
import { parseIstioClusterName, type IstioClusterName } from './istio-cluster-name.ts';

/**
 * The proxies a CLUSTER ADD reaches, by its context: istiod inserts the GATEWAY ones into a gateway's clusters and both
 * SIDECAR_* ones into a sidecar's (pilot/pkg/networking/core/cluster.go buildClusters); no context is ANY.
 */
function proxiesOf(patch: ConfigPatch): 'gateway' | 'sidecar' | 'any' {
  const context = patch.match.context;
  if (context === 'GATEWAY') return 'gateway';
  if (context === 'SIDECAR_INBOUND' || context === 'SIDECAR_OUTBOUND') return 'sidecar';
  return 'any';
}

function reachSameProxies(a: ConfigPatch, b: ConfigPatch): boolean {
  const [x, y] = [proxiesOf(a), proxiesOf(b)];
  // A proxy match (a version, metadata) may tell them apart on purpose: only the same one, or none, is the same proxies.
  return (x === y || x === 'any' || y === 'any') && isDeepStrictEqual(a.match.proxy, b.match.proxy);
}

/**
 * Two CLUSTER ADD patches of this EnvoyFilter that add different clusters of one name to the same proxies. istiod
 * keeps the first cluster of a name and discards the others (pilot/pkg/networking/core/cluster_builder.go
 * normalizeClusters), so Envoy never sees the second: its settings never apply. An exact copy loses nothing.
 */
export function checkDuplicateClusters(patches: readonly ConfigPatch[], severities: SeverityOverrides): Finding[] {
  const findings: Finding[] = [];
  const adds = patches.filter(addsCluster);
  for (const [i, later] of adds.entries()) {
    const name = later.valueName;
    if (typeof name !== 'string' || name === '') continue; // no name is EPP312
    const first = adds.slice(0, i).find((earlier) => earlier.valueName === name && reachSameProxies(earlier, later));
    if (first === undefined || isDeepStrictEqual(first.value, later.value)) continue;
    findings.push(
      finding(
        'EPP317',
        severities,
        { location: patchLocation(later.index), path: formatPath([...later.valuePath, 'name']) },
        `adds cluster ${name}, which ${patchLocation(first.index)} adds to the same proxies with other settings: istiod keeps the first cluster of a name and discards the others, so this one never reaches Envoy and the proxies use ${patchLocation(first.index)}'s. Measured: a corrected copy after a broken cluster changed nothing`,
        `keep one CLUSTER ADD per name: write the settings you want into ${patchLocation(first.index)} and drop this patch, or give this cluster another name (and the cluster_name that calls it)`,
      ),
    );
  }
  return findings;
}

/** Whether a CLUSTER REMOVE takes out istiod's cluster of this name on every proxy `add` reaches (cluster_patch.go clusterMatch). */
function removesFromProxiesOf(remove: ConfigPatch, add: ConfigPatch, name: string, parsed: IstioClusterName): boolean {
  if (remove.applyTo !== 'CLUSTER' || remove.operation !== 'REMOVE') return false;
  const proxies = proxiesOf(remove);
  if (!(proxies === 'any' || proxies === proxiesOf(add)) || !(remove.match.proxy === undefined || isDeepStrictEqual(remove.match.proxy, add.match.proxy))) return false;
  const match = remove.match.cluster;
  if (!isObject(match)) return true;
  if (typeof match.name === 'string' && match.name !== '') return match.name === name;
  if (typeof match.subset === 'string' && match.subset !== '' && match.subset !== parsed.subset) return false;
  if (typeof match.service === 'string' && match.service !== '' && match.service !== parsed.host) return false;
  const port = match.portNumber ?? match.port_number;
  return typeof port !== 'number' || port === 0 || port === parsed.port;
}

/**
 * The CLUSTER ADDs named as istiod names its own outbound clusters, with the name's parts, unless a REMOVE of this
 * EnvoyFilter takes istiod's cluster of that name out for the proxies the ADD reaches (then one cluster of the name
 * is left, the ADD's). istiod builds an outbound cluster for every port of every Service (or ServiceEntry host) a proxy
 * sees and sends them beside the clusters EnvoyFilters add, which it dedupes only among themselves
 * (pilot/pkg/networking/core/cluster.go buildClusters: normalizeClusters runs over the added clusters, not over the
 * outbound ones), so Envoy gets two clusters of one name. The ADD's own settings then never apply.
 */
function addsBesideIstiodCluster(patches: readonly ConfigPatch[]): { patch: ConfigPatch & { value: JsonObject }; name: string; parsed: IstioClusterName }[] {
  const found = [];
  for (const patch of patches.filter(addsCluster)) {
    const name = patch.valueName;
    const parsed = typeof name === 'string' ? parseIstioClusterName(name) : undefined;
    if (parsed === undefined || patches.some((other) => removesFromProxiesOf(other, patch, name as string, parsed))) continue;
    found.push({ patch, name: name as string, parsed });
  }
  return found;
}

/** Measured on the data plane (EPP318 scenarios): Envoy refuses the cluster update that carries both, over SotW and over delta xDS. */
export function checkIstiodClusterNames(patches: readonly ConfigPatch[], severities: SeverityOverrides): Finding[] {
  return addsBesideIstiodCluster(patches).map(({ patch, name, parsed: { port, subset, host } }) =>
    finding(
      'EPP318',
      severities,
      { location: patchLocation(patch.index), path: formatPath([...patch.valuePath, 'name']) },
      `adds cluster ${name}, the name istiod gives its own cluster of port ${port} of ${host}${subset === '' ? '' : ` (subset ${subset})`}, which it builds for every proxy that sees that Service: istiod sends both clusters (it dedupes only the clusters EnvoyFilters add), and Envoy rejects every cluster update that carries two of one name. Measured: over delta xDS (Istio's default) a gateway that starts gets no cluster at all and every request fails (500); over SotW xDS Envoy keeps istiod's cluster, so this one's settings never apply (against the EPP serving TLS, 500 on every request)`,
      `give this cluster a name of your own (as epp-cluster), in its load_assignment.cluster_name and in the cluster_name that calls it; or drop this CLUSTER ADD and call istiod's cluster ${name} (measured: 200 with the EPP serving plaintext and its Service port declaring appProtocol: http2; against an EPP serving TLS it needs TLS from a DestinationRule, not measured)`,
    ),
  );
}
