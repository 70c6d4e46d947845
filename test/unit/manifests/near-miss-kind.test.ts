import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { nearMissKind, SERVED_VERSION } from '../../../src/manifests/near-miss-kind.ts';

t.test('the one version check holds EnvoyFilters to is the one the real CRD serves', async (t) => {
  const [crd] = parseAllDocuments(readFileSync(new URL('../../fixtures/crds/envoyfilter.yaml', import.meta.url), 'utf8')).map((d) => d.toJS());
  t.same(crd.spec.versions.filter((v: any) => v.served).map((v: any) => v.name), [SERVED_VERSION.EnvoyFilter]);
});

t.test('what the API server does not serve is named, with the apiVersion to write', async (t) => {
  const object = (apiVersion: string | undefined, kind: string) => ({ ...(apiVersion === undefined ? {} : { apiVersion }), kind, metadata: { name: 'x' } });
  t.match(nearMissKind(object('networking.istio.io/v1', 'EnvoyFilter')), "apiVersion networking.istio.io/v1: Istio's CRD serves EnvoyFilter only as networking.istio.io/v1alpha3");
  t.match(nearMissKind(object(undefined, 'EnvoyFilter')), 'kind EnvoyFilter without an apiVersion: kubectl apply refuses it (apiVersion not set), and check cannot tell which API it is for; add apiVersion: networking.istio.io/v1alpha3');
  t.match(nearMissKind(object(undefined, 'HTTPRoute')), 'add apiVersion: gateway.networking.k8s.io/v1');
  t.match(nearMissKind(object('networking.istio.io/v1alpha3', 'Envoyfilter')), 'looks like a misspelt EnvoyFilter (kind EnvoyFilter?)');
  for (const [apiVersion, kind] of [
    ['networking.istio.io/v1alpha3', 'EnvoyFilter'],
    ['networking.istio.io/v1beta1', 'DestinationRule'],
    ['networking.istio.io/v1alpha3', 'DestinationRule'],
    ['gateway.networking.k8s.io/v1beta1', 'HTTPRoute'],
    ['gateway.networking.k8s.io/v1alpha2', 'TCPRoute'],
    [undefined, 'ConfigMap'],
  ] as const) {
    t.equal(nearMissKind(object(apiVersion, kind)), undefined, `${apiVersion} ${kind}: served, or not ours`);
  }
});
