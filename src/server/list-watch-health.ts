import { Counter, Gauge, type Registry } from 'prom-client';
import type { ResourceListWatchEvent } from '../cluster/resource-list-watch.ts';

/** The caches as /readyz names them in notSynced. */
export type CacheName = 'Services' | 'InferencePools' | 'EnvoyFilters';

/**
 * A cache that has listed once stays ready while its list or watch fails, answering from what it last saw (a
 * Service recreated meanwhile keeps its old ClusterIP there): nothing in the synced gauges shows it. This counts each
 * failure by cache, and tells how long a cache has been failing with no list completed and no watch working since (a
 * watch works once it delivers an event or stays open a second: `answered`). A cache fed by
 * several streams (InferencePools: one per served API version) is failing while any of them is.
 */
export class ListWatchHealth {
  readonly #failures: Counter<'cache'>;
  /** By stream: when its failures began. */
  readonly #failingSince = new Map<string, { cache: CacheName; since: number }>();
  readonly #now: () => number;

  constructor(registers: Registry[], caches: readonly CacheName[], now: () => number = Date.now) {
    this.#now = now;
    this.#failures = new Counter({
      name: 'epp_webhook_cache_list_watch_failures_total',
      help: 'Failed lists and watches of a cache (Services, InferencePools, EnvoyFilters), each retried with backoff. A missing CRD is not a failure.',
      labelNames: ['cache'],
      registers,
    });
    for (const cache of caches) this.#failures.inc({ cache }, 0);
    const failingSeconds = (cache: CacheName) => this.failingSeconds(cache);
    new Gauge({
      name: 'epp_webhook_cache_failing_seconds',
      help: 'How long the cache has been failing to list or watch, with no list completed and no watch working since (0: current). Meanwhile it answers from what it last saw.',
      labelNames: ['cache'],
      registers,
      collect() {
        for (const cache of caches) this.set({ cache }, failingSeconds(cache));
      },
    });
  }

  /** `stream`: which list+watch of the cache the event is from (its `what`). */
  observe(cache: CacheName, stream: string, event: ResourceListWatchEvent | { type: string }): void {
    if (event.type === 'error') {
      this.#failures.inc({ cache });
      if (!this.#failingSince.has(stream)) this.#failingSince.set(stream, { cache, since: this.#now() });
    } else if (event.type === 'synced' || event.type === 'answered') {
      this.#failingSince.delete(stream);
    }
  }

  failingSeconds(cache: CacheName): number {
    let oldest: number | undefined;
    for (const failing of this.#failingSince.values()) if (failing.cache === cache && (oldest === undefined || failing.since < oldest)) oldest = failing.since;
    return oldest === undefined ? 0 : Math.max(0, (this.#now() - oldest) / 1000);
  }
}
