/** A kubeconfig that cannot be read or parsed: said in one line, as the other start-up errors are. */
export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
}
