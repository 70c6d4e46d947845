import { runBuildScript } from '../../e2e/harness/build-script.ts';

export interface DataPlaneBinaries {
  epp: string;
  pilotDiscovery: string;
  envoy: string;
  /** Directory of the Gateway API standard-channel CRDs of the release this Istio is built against. */
  gatewayApiCrds: string;
  /** Istio's crd-all.gen.yaml of the same Istio module. */
  istioCrds: string;
}

const BUILD_SCRIPT = new URL('../build-dataplane.sh', import.meta.url).pathname;

/** Builds (first run on a machine) or finds (cached) the EPP and istiod, and installs Envoy. */
export async function dataPlaneBinaries(): Promise<DataPlaneBinaries> {
  const paths = await runBuildScript(BUILD_SCRIPT, ['EPP', 'PILOT_DISCOVERY', 'ENVOY', 'GATEWAY_API_CRDS', 'ISTIO_CRDS']);
  return { epp: paths.EPP, pilotDiscovery: paths.PILOT_DISCOVERY, envoy: paths.ENVOY, gatewayApiCrds: paths.GATEWAY_API_CRDS, istioCrds: paths.ISTIO_CRDS };
}
