import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Errors no retry mends within a check: nothing listens there, no such host or route, or a TLS certificate the
 * kubeconfig does not trust, credentials the API server refuses (401) or may not list (403). kubectl fails on them at
 * once; a one-off list gives up on the first rather than waiting out --kube-timeout. (A reset, a timeout, a temporary
 * DNS failure or an API server error may mend and are waited for.)
 */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  // https:// to a port that speaks plain HTTP.
  'ERR_SSL_WRONG_VERSION_NUMBER',
  // The API server's answer to these credentials (client-node's ApiException carries the HTTP status as its code).
  '401',
  '403',
]);

/** client-node refuses an http:// server unless the kubeconfig skips TLS verification: the kubeconfig's own mistake. */
const REFUSED_BY_THE_CLIENT = /HTTP protocol is not allowed/;

function unreachable(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    if (UNREACHABLE.has(String((cause as NodeJS.ErrnoException).code)) || REFUSED_BY_THE_CLIENT.test(cause.message)) return true;
  }
  return false;
}

/** The list+watch events of a one-off list, for its cache's onEvent: the last error, and whether the cluster cannot be reached. */
export interface FirstListEvents {
  onEvent(event: { type: string; error?: Error }): void;
  lastError(): Error | undefined;
  /** True once an error said the cluster cannot be reached: waiting longer would not help. */
  gaveUp(): boolean;
}

/**
 * A one-off list's events and its wait: `wait(started, timeoutMs)` resolves with `started` (true once every cache
 * listed), false after `timeoutMs`, or false at once on the first error that says the cluster cannot be reached.
 */
export function firstList(): { events: FirstListEvents; wait(started: Promise<boolean>, timeoutMs: number): Promise<boolean> } {
  let lastError: Error | undefined;
  let gaveUp = false;
  let giveUp: () => void = () => {};
  const cannotReach = new Promise<false>((resolve) => (giveUp = () => resolve(false)));
  const events: FirstListEvents = {
    onEvent(event) {
      if (event.type !== 'error' || event.error === undefined) return;
      lastError = event.error;
      if (unreachable(event.error)) {
        gaveUp = true;
        giveUp();
      }
    },
    lastError: () => lastError,
    gaveUp: () => gaveUp,
  };
  return {
    events,
    async wait(started, timeoutMs) {
      const timeout = new AbortController();
      try {
        return await Promise.race([started, sleep(timeoutMs, false, { signal: timeout.signal }).catch(() => false), cannotReach]);
      } finally {
        timeout.abort();
      }
    },
  };
}
