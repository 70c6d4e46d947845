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
