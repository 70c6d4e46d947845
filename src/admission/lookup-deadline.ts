import type { ServiceLookup, ServiceResolver } from '../cluster/service-resolver.ts';

/**
 * The resolver, bounded by the admission deadline: a lookup still pending at `deadline` (a performance.now()
 * time) answers `unavailable`, which the core turns into a temporary denial (EPP104, 503) while the apiserver
 * is still waiting, instead of letting the apiserver's own webhook timeout fail the request without a reason.
 * Lookups that answer synchronously (the informer cache, a file) pass straight through, with no timer.
 */
export function withLookupDeadline(resolver: ServiceResolver, deadline: number, timeoutMs: number): ServiceResolver {
  return {
    source: resolver.source,
    fixes: resolver.fixes,
    ready: () => resolver.ready(),
    size: () => resolver.size(),
    lookup(namespace: string, name: string): ServiceLookup | Promise<ServiceLookup> {
      const answer = resolver.lookup(namespace, name);
      if (!(answer instanceof Promise)) return answer;
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<ServiceLookup>((resolve) => {
        timer = setTimeout(
          () => resolve({ kind: 'unavailable', reason: `the Service lookup did not answer within ${timeoutMs} ms (admissionTimeoutMs)` }),
          Math.max(0, deadline - performance.now()),
        );
      });
      return Promise.race([answer, expired]).finally(() => clearTimeout(timer));
    },
  };
}
