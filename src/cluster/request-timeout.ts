import { requestSignal } from './request-signal.ts';

/**
 * Options for one client-node API call that give up after `ms`. A lease renewal must not hang past the
 * lease's expiry.
 */
export function requestTimeout(ms: number): ReturnType<typeof requestSignal> {
  return requestSignal(AbortSignal.timeout(ms));
}
