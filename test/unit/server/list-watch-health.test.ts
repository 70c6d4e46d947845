import t from 'tap';
import { Registry } from 'prom-client';
import { ListWatchHealth } from '../../../src/server/list-watch-health.ts';
import { createMetrics } from '../../../src/server/metrics.ts';
import { probeAnswer } from '../../../src/server/probes.ts';

const failure = (message: string) => ({ type: 'error' as const, error: new Error(message), retryInMs: 250 });

async function series(registry: Registry): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((line) => /^epp_webhook_cache_(failing_seconds|list_watch_failures_total)\{/.test(line));
}

t.test('a cache fails from its first failed list or watch until the API server answers one again', async (t) => {
  let now = 1_000_000;
  const registry = new Registry();
  const health = new ListWatchHealth([registry], ['Services', 'EnvoyFilters'], () => now);
  t.same(await series(registry), [
    'epp_webhook_cache_list_watch_failures_total{cache="Services"} 0',
    'epp_webhook_cache_list_watch_failures_total{cache="EnvoyFilters"} 0',
    'epp_webhook_cache_failing_seconds{cache="Services"} 0',
    'epp_webhook_cache_failing_seconds{cache="EnvoyFilters"} 0',
  ], 'every cache exposed from the start, current');

  health.observe('Services', 'Services', failure('watching Services failed: HTTP 403 Forbidden'));
  now += 30_000;
  health.observe('Services', 'Services', { type: 'watch-restart', cause: 'failed', reason: 'x', resourceVersion: '5' });
  health.observe('Services', 'Services', failure('listing Services failed: connect ECONNREFUSED'));
  now += 400_000;
  t.equal(health.failingSeconds('Services'), 430, 'counted from the first failure, not the latest');
  t.equal(health.failingSeconds('EnvoyFilters'), 0, 'another cache is not touched');
  t.match(await series(registry), ['epp_webhook_cache_list_watch_failures_total{cache="Services"} 2']);

  health.observe('Services', 'Services', { type: 'answered', resourceVersion: '9' });
  t.equal(health.failingSeconds('Services'), 0, 'a watch answered: current');
  health.observe('Services', 'Services', failure('again'));
  now += 1_000;
  health.observe('Services', 'Services', { type: 'synced', initial: false, items: 3, resourceVersion: '10' });
  t.equal(health.failingSeconds('Services'), 0, 'a list completed: current');
});

t.test('a cache of several streams is failing while any of them is, since the earliest', async (t) => {
  let now = 0;
  const health = new ListWatchHealth([new Registry()], ['InferencePools'], () => now);
  health.observe('InferencePools', 'InferencePools (v1)', failure('a'));
  now += 10_000;
  health.observe('InferencePools', 'InferencePools (v1alpha2)', failure('b'));
  now += 5_000;
  t.equal(health.failingSeconds('InferencePools'), 15);
  health.observe('InferencePools', 'InferencePools (v1)', { type: 'answered', resourceVersion: '1' });
  t.equal(health.failingSeconds('InferencePools'), 5, 'the other stream still fails');
  health.observe('InferencePools', 'InferencePools (v1alpha2)', { type: 'answered', resourceVersion: '' });
  t.equal(health.failingSeconds('InferencePools'), 0);
});

t.test("the gauge's cache label values are the names /readyz gives in notSynced (the alert's label)", async (t) => {
  const unsynced = { source: 'stuck', ready: () => false };
  const caches = {
    resolver: { ...unsynced, lookup: () => ({ kind: 'not-found' as const }), size: () => 0 },
    pools: { ...unsynced, lookupPool: () => ({ kind: 'not-found' as const }), endpointPickerServices: () => [], records: () => [] },
    envoyFilters: { ...unsynced, has: () => false, servingPool: () => [], poolOf: () => undefined, envoyFiltersOverriding: () => [] },
  };
  const labels = (await createMetrics(caches).registry.getSingleMetric('epp_webhook_cache_failing_seconds')!.get()).values.map((v) => v.labels.cache);
  t.same(labels, probeAnswer('/readyz', caches).body.notSynced);
});
