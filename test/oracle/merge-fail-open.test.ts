import t from 'tap';
import { askIstio } from './istio-oracle.ts';
import { toolPath } from './run-differential.ts';
import { StaticServiceResolver } from '../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { askWebhook } from './webhook-verdict.ts';
import { envoyFilter, EXTERNAL_PROCESSOR, mergeIntoIstiodFilter, NAMESPACE, type JsonMap } from './corpus/building-blocks.ts';

// istiod's InferencePool ext_proc filter sets failure_mode_allow: true. A MERGE into it that writes false, meaning to
// fail closed, is merged by istiod's own merge (util.MergeAnyWithAny), which does not carry a proto3 zero value: asked
// of Istio's code (the oracle's merged filter), then of the webhook, which must warn (EPP205) that it still fails open.

/** An EnvoyFilter with one MERGE into istiod's filter of an ExternalProcessor that sends request headers, and `failure_mode_allow` if given. */
function mergeIntoIstiodFilterWith(failureModeAllow: boolean | undefined) {
  const fields: JsonMap = failureModeAllow === undefined ? {} : { failure_mode_allow: failureModeAllow };
  return envoyFilter('fail-closed', [mergeIntoIstiodFilter({ typed_config: { '@type': EXTERNAL_PROCESSOR, processing_mode: { request_header_mode: 'SEND' }, ...fields } })]);
}

t.test("failure_mode_allow: false in a MERGE into istiod's filter: istiod's merge keeps true, and the webhook says so", async (t) => {
  const oracle = toolPath('test/oracle/build-istio-oracle.sh', 'ISTIO_ORACLE');
  const deps = { config: DEFAULT_CONFIG, resolver: StaticServiceResolver.fromRecords([]) };
  const cases = [
    { id: 'false', object: mergeIntoIstiodFilterWith(false) },
    { id: 'unset', object: mergeIntoIstiodFilterWith(undefined) },
  ];
  const verdicts = await askIstio(oracle, cases);
  for (const [i, { id, object }] of cases.entries()) {
    const merged = verdicts[i].patches[0].mergedIntoInferencePool as { typed_config?: { failure_mode_allow?: boolean } } | undefined;
    t.equal(merged?.typed_config?.failure_mode_allow, true, `${id}: the merged filter fails open`);
    const epp205 = (await askWebhook(object, NAMESPACE, deps)).findings.filter((f) => f.code === 'EPP205');
    if (id === 'false') {
      t.equal(epp205.length, 1, 'the webhook warns');
      t.match(epp205[0].message, 'false is proto3\'s zero value, which istiod\'s merge does not carry, so the filter-level true stays');
    } else {
      t.same(epp205, [], 'a MERGE that says nothing of failing open is not warned about it');
    }
  }
});
