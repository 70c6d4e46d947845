import { runBuildScript } from './build-script.ts';

export interface ControlPlaneBinaries {
  kubeApiserver: string;
  kubectl: string;
  etcd: string;
}

const BUILD_SCRIPT = new URL('../build-control-plane.sh', import.meta.url).pathname;

/** Builds (first run on a machine, ~13 min on 2 cores) or finds (cached, ~0.05 s) kube-apiserver, kubectl and etcd. */
export async function controlPlaneBinaries(): Promise<ControlPlaneBinaries> {
  const paths = await runBuildScript(BUILD_SCRIPT, ['KUBE_APISERVER', 'KUBECTL', 'ETCD']);
  return { kubeApiserver: paths.KUBE_APISERVER, kubectl: paths.KUBECTL, etcd: paths.ETCD };
}
