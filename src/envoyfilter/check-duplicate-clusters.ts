import { isDeepStrictEqual } from 'node:util';
import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath } from '../json-path.ts';
import { envoyField } from '../json-value.ts';
import { addsCluster, patchLocation, type ConfigPatch } from './config-patches.ts';

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
    const name = envoyField(later.value, 'name');
    if (typeof name !== 'string' || name === '') continue; // no name is EPP312
    const first = adds.slice(0, i).find((earlier) => envoyField(earlier.value, 'name') === name && reachSameProxies(earlier, later));
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

/** The name istiod gives its outbound cluster of a host's port: `outbound|<port>|<subset>|<host>` (model.BuildSubsetKey). */
const ISTIOD_OUTBOUND_CLUSTER = /^outbound\|(\d+)\|([^|]*)\|([^|]+)$/;

/**
 * A CLUSTER ADD named as istiod names its own outbound clusters. istiod builds an outbound cluster for every port of
 * every Service (or ServiceEntry host) the proxy sees and sends them beside the clusters EnvoyFilters add, which it
 * dedupes only among themselves (pilot/pkg/networking/core/cluster.go buildClusters: normalizeClusters runs over the
 * added clusters, not over the outbound ones). So Envoy gets two clusters of one name and refuses the update: measured
 * on the data plane (EPP318 scenarios), over SotW and over delta xDS.
 */
export function checkIstiodClusterNames(patches: readonly ConfigPatch[], severities: SeverityOverrides): Finding[] {
  const findings: Finding[] = [];
  for (const patch of patches.filter(addsCluster)) {
    const name = envoyField(patch.value, 'name');
    const m = typeof name === 'string' ? ISTIOD_OUTBOUND_CLUSTER.exec(name) : null;
    if (m === null) continue;
    const [, port, subset, host] = m;
    findings.push(
      finding(
        'EPP318',
        severities,
        { location: patchLocation(patch.index), path: formatPath([...patch.valuePath, 'name']) },
        `adds cluster ${name}, the name istiod gives its own cluster of port ${port} of ${host}${subset === '' ? '' : ` (subset ${subset})`}, which it builds for every proxy that sees that Service: istiod sends both clusters (it dedupes only the clusters EnvoyFilters add), and Envoy rejects every cluster update that carries two of one name. Measured: over delta xDS (Istio's default) a gateway that starts gets no cluster at all and every request fails (500); over SotW xDS Envoy keeps istiod's cluster, so this one's settings never apply (against the EPP serving TLS, 500 on every request)`,
        `give this cluster a name of your own (as epp-cluster), in its load_assignment.cluster_name and in the cluster_name that calls it; or drop this CLUSTER ADD and call istiod's cluster ${name} (a DestinationRule gives it TLS)`,
      ),
    );
  }
  return findings;
}
