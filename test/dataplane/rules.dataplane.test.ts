/**
 * Each runtime rule of the webhook, measured: the config the rule warns about (or denies; relaxed here to a warning
 * so it reaches Istio and Envoy) is applied with kubectl, and three completions are sent through the gateway. What the
 * client got (status, time, which Pod), whether the EPP saw the requests, and which Envoy counters moved are asserted
 * against test/dataplane/measured-symptoms.json (the symptom) and, with DATAPLANE_RECORD=1, written back there.
 *
 * Unless a scenario says otherwise the HTTPRoute sends /v1 to a plain Service of the model Pods: with no InferencePool
 * route istiod inserts no ext_proc filter of its own, so the EnvoyFilter's filter is the only one, as the rules assume.
 */
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ISTIO_NAMESPACE } from './harness/istiod-process.ts';
import { startDataPlane, EPP_SERVICE, EPP_SERVICE_PORT, MEASURING_CONFIG, NS, POOL, type DataPlane } from './harness/dataplane.ts';
import { apply, applyAndWait, exampleEnvoyFilter, fixture, poolRoute } from './harness/guide-manifests.ts';
import { clusterNames, connectionManager, dynamicClusters, gatewayListener, httpFilters, routeConfig, waitForPush, xdsCounters } from './harness/envoy-config.ts';
import { waitFor } from '../e2e/harness/processes.ts';
import { COMPLETION, post } from './harness/client.ts';
import { STREAM_TOKEN_INTERVAL_MS } from './harness/model-server.ts';
import { eppProcessingMode } from '../helpers/epp-processing-mode.ts';
import { codesIn, measure, readSymptoms, recordSymptoms, type Measurement, type SymptomsFile } from './harness/measure.ts';

let plane: DataPlane;
const symptoms: SymptomsFile = readSymptoms();
const measured: Record<string, Measurement> = {};

t.before(async () => {
  plane = await startDataPlane({ webhookConfig: MEASURING_CONFIG });
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'vllm-sim', namespace: NS },
    spec: { selector: { app: 'vllm-sim' }, ports: [{ name: 'http', port: 8000, targetPort: plane.models[0].port, protocol: 'TCP' }] },
  };
  const created = await apply(plane, service);
  if (created.code !== 0) throw new Error(created.stderr);
});
t.teardown(async () => {
  await plane?.stop();
  recordSymptoms({
    versions: symptoms.versions,
    measuredAt: new Date().toISOString(),
    scenarios: {
      ...symptoms.scenarios,
      ...Object.fromEntries(Object.entries(measured).map(([k, v]) => [k, { ...{ rule: '', symptom: '' }, ...symptoms.scenarios[k], ...v }])),
    },
  });
});

const ROUTE = 'llm-d-inference-scheduling';
function plainRoute(): any {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: ROUTE, namespace: NS },
    spec: {
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'infra-inference-scheduling-inference-gateway' }],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/v1' } }], backendRefs: [{ name: 'vllm-sim', port: 8000 }] }],
    },
  };
}

/** The working fixture (INSERT_BEFORE router, FULL_DUPLEX_STREAMED, HTTP/2, TLS, placeholder) with `edit` applied. */
function fullDuplex(edit: (filter: any, cluster: any, doc: any) => void = () => {}): any {
  const doc = parse(fixture('full-duplex-envoyfilter.yaml'));
  edit(doc.spec.configPatches[0].patch.value.typed_config, doc.spec.configPatches[1].patch.value, doc);
  return doc;
}

let marker = 0;
/**
 * Applies the EnvoyFilter (with a fresh cluster name, so the push is visible; with `renamed: false` as it is, waiting
 * for Envoy to take or refuse the push) and the route; returns the webhook's codes.
 */
async function setUp(envoyFilter: any, route: any, renamed = true): Promise<string[]> {
  const name = `epp-cluster-${++marker}`;
  const text = renamed ? stringify(envoyFilter).replaceAll('epp-cluster', name) : stringify(envoyFilter);
  const routed = await apply(plane, route);
  if (routed.code !== 0) throw new Error(routed.stderr);
  const applied = await applyAndWait(plane, text, renamed ? name : undefined);
  if (applied.code !== 0) throw new Error(applied.stderr);
  // The route (RDS) may follow the listener and cluster push: let it land before the client sends.
  await new Promise((r) => setTimeout(r, 1500));
  return [...new Set([...codesIn(routed.stderr), ...codesIn(applied.stderr)])].sort();
}

async function scenario(
  parent: Test,
  key: string,
  envoyFilter: any,
  route: any,
  check: (t: Test, m: Measurement) => void | Promise<void>,
  options: { count?: number; concurrent?: boolean; timeoutMs?: number; body?: unknown; path?: string; renamed?: boolean; beforeMeasure?: () => Promise<void>; setUp?: () => Promise<string[]> } = {},
): Promise<void> {
  await parent.test(`${key}: ${symptoms.scenarios[key]?.symptom ?? ''}`, async (t) => {
    const webhook = options.setUp ? await options.setUp() : await setUp(envoyFilter, route, options.renamed ?? true);
    await options.beforeMeasure?.();
    const m = await measure(plane, key, webhook, options.count ?? 3, { timeoutMs: options.timeoutMs, body: options.body, concurrent: options.concurrent, path: options.path });
    measured[key] = m;
    t.comment(JSON.stringify({ webhook: m.webhook, answers: m.answers, eppRequests: m.eppRequests }));
    t.comment(JSON.stringify(m.envoyStats));
    t.ok(symptoms.scenarios[key], `${key} has a recorded symptom in measured-symptoms.json`);
    await check(t, m);
  });
}

const statuses = (m: Measurement) => m.answers.map((a) => a.status);
/** The statuses recorded for a scenario in measured-symptoms.json (what the symptom in the rule's message rests on). */
const recorded = (key: string) => symptoms.scenarios[key]?.answers?.map((a) => a.status);
const served = (m: Measurement) => m.answers.every((a) => a.servedBy?.startsWith('vllm-sim-'));
const stat = (m: Measurement, suffix: string) => Object.entries(m.envoyStats).filter(([k]) => k.endsWith(suffix)).reduce((n, [, v]) => n + v, 0);


t.test('baseline: the working fixture consults the EPP on every request and the Pods answer', async (t) => {
  await scenario(t, 'baseline', fullDuplex(), plainRoute(), (t, m) => {
    t.same(statuses(m), [200, 200, 200]);
    t.ok(served(m));
    t.equal(m.eppRequests, 3, 'the EPP saw every request');
  });
});

t.test('the working fixture on an InferencePool route: istiod\'s per-route override takes its filter to istiod\'s EPP cluster', async (t) => {
  await scenario(t, 'fixture-on-inferencepool-route', fullDuplex(), poolRoute({ inject: false }), async (t, m) => {
    t.same(m.webhook, ['EPP230'], 'kubectl printed EPP230, and only it');
    t.same(statuses(m), recorded('fixture-on-inferencepool-route'));
    t.notOk(
      Object.keys(m.envoyStats).some((k) => /^cluster\.epp-cluster-\d+\.upstream_rq_total$/.test(k)),
      'the substituted EPP cluster carried nothing',
    );
    // EPP322's fix cites istiod's own clusters' limit: asked of the EPP cluster istiod built for the pool.
    t.same(await maxRequests((name) => name.startsWith('outbound|9002||')), [4294967295], "istiod's EPP cluster allows 2^32-1 requests in flight");
    t.same(await maxRequests((name) => name.startsWith('outbound|9002||'), 'max_pending_requests'), [4294967295], 'and 2^32-1 waiting for a connection');
  });
});

t.test('EPP202: BUFFERED / STREAMED / BUFFERED_PARTIAL / GRPC request bodies', async (t) => {
  for (const mode of ['BUFFERED', 'STREAMED', 'BUFFERED_PARTIAL', 'GRPC'] as const) {
    // message_timeout 2 s instead of the fixture's 1000 s, to see what the client gets when it expires.
    const ef = fullDuplex((f) => {
      f.processing_mode.request_body_mode = mode;
      f.message_timeout = '2s';
    });
    await scenario(
      t,
      `EPP202-${mode}`,
      ef,
      plainRoute(),
      (t, m) => {
        t.ok(m.webhook.includes('EPP202'), 'kubectl printed EPP202 (relaxed to a warning to measure)');
        t.same(statuses(m), recorded(`EPP202-${mode}`), 'the recorded statuses');
        t.ok(m.answers.every((a) => a.status === 504 && a.ms >= 1900), 'each waited message_timeout (2 s), then 504');
      },
      { count: 2, timeoutMs: 8000 },
    );
  }
  // The same with failure_mode_allow: true (as real route overrides write it beside BUFFERED or STREAMED): what the
  // client gets when message_timeout expires is the EPP bypassed, not a 504.
  for (const mode of ['BUFFERED', 'STREAMED', 'BUFFERED_PARTIAL', 'GRPC'] as const) {
    const key = `EPP202-${mode}-fail-open`;
    const ef = fullDuplex((f) => {
      f.processing_mode.request_body_mode = mode;
      f.message_timeout = '2s';
      f.failure_mode_allow = true;
    });
    await scenario(
      t,
      key,
      ef,
      plainRoute(),
      (t, m) => {
        t.ok(m.webhook.includes('EPP202') && m.webhook.includes('EPP205'), 'kubectl printed EPP202 and EPP205');
        t.same(statuses(m), recorded(key), 'the recorded statuses');
        t.ok(m.answers.every((a) => a.status === 200 && a.ms >= 1900) && served(m), 'each waited message_timeout (2 s), then a Pod answered');
        t.equal(stat(m, 'ext_proc.message_timeouts'), m.answers.length, 'the EPP answered none in time');
        t.equal(stat(m, 'ext_proc.failure_mode_allowed'), m.answers.length, 'and Envoy let each through without its pick');
      },
      { count: 2, timeoutMs: 8000 },
    );
  }
  // A body above the buffer limit (the fixture's listener holds 1 MiB per connection): BUFFERED refuses it whole.
  const large = { ...COMPLETION, prompt: 'x'.repeat(1_200_000) };
  await scenario(
    t,
    'EPP202-BUFFERED-above-limit',
    fullDuplex((f) => {
      f.processing_mode.request_body_mode = 'BUFFERED';
      f.message_timeout = '2s';
    }),
    plainRoute(),
    (t, m) => {
      t.ok(m.webhook.includes('EPP202'));
      t.same(statuses(m), recorded('EPP202-BUFFERED-above-limit'));
      t.same(statuses(m), [413], 'refused at once: 413');
    },
    { count: 1, timeoutMs: 8000, body: large },
  );
});

/** A streamed completion (server-sent events, one per token, STREAM_TOKEN_INTERVAL_MS apart): 8 tokens and [DONE], about 1.2 s. */
const STREAMED_COMPLETION = { ...COMPLETION, max_tokens: 8, stream: true };
/** A long completion, not streamed: about 160 kB of body, more than the EPP puts in one body message (62,000 bytes). */
const LONG_COMPLETION = { ...COMPLETION, max_tokens: 40_000 };
const LONG_BYTES = 160_217;
const BODIES = { '': undefined, '-stream': STREAMED_COMPLETION, '-long': LONG_COMPLETION } as const;
/** Each answer a whole streamed completion: every event, the first byte no earlier than the last token was sent. */
const streamedWhole = (m: Measurement) => m.answers.every((a) => a.events === 9 && a.ms >= 8 * STREAM_TOKEN_INTERVAL_MS);

t.test('baseline, streamed and long: the working fixture passes each token on as the model server sends it, and long bodies whole', async (t) => {
  await scenario(
    t,
    'baseline-stream',
    fullDuplex(),
    plainRoute(),
    (t, m) => {
      t.same(statuses(m), [200, 200, 200]);
      t.equal(m.eppRequests, 3, 'the EPP saw every request');
      t.ok(streamedWhole(m), 'every event arrived');
      t.ok(m.answers.every((a) => a.firstByteMs! < a.ms - 5 * STREAM_TOKEN_INTERVAL_MS), 'the first token came long before the last');
    },
    { body: STREAMED_COMPLETION, timeoutMs: 8000 },
  );
  await scenario(
    t,
    'baseline-long',
    fullDuplex(),
    plainRoute(),
    (t, m) => {
      t.same(statuses(m), [200, 200, 200]);
      t.ok(m.answers.every((a) => a.bytes === LONG_BYTES), 'the whole body');
    },
    { body: LONG_COMPLETION, timeoutMs: 8000 },
  );
});

t.test('EPP220: BUFFERED / BUFFERED_PARTIAL response bodies (requests FULL_DUPLEX_STREAMED, trailers SEND): completions arrive, streamed ones only at their end', async (t) => {
  for (const mode of ['BUFFERED', 'BUFFERED_PARTIAL'] as const) {
    // message_timeout 2 s instead of the fixture's 1000 s, as for EPP202, to see what the client gets if it expires.
    const ef = fullDuplex((f) => {
      f.processing_mode.response_body_mode = mode;
      f.message_timeout = '2s';
    });
    for (const [suffix, body] of Object.entries(BODIES)) {
      const key = `EPP220-${mode}${suffix}`;
      await scenario(
        t,
        key,
        ef,
        plainRoute(),
        (t, m) => {
          t.ok(m.webhook.includes('EPP220') && !m.webhook.includes('EPP202'), 'kubectl printed EPP220, not EPP202');
          t.same(statuses(m), recorded(key), 'the recorded statuses');
          t.same(statuses(m), [200, 200, 200]);
          t.equal(m.eppRequests, 3, 'the EPP picked for every request');
          t.equal(stat(m, 'ext_proc.message_timeouts'), 0, 'the EPP answered every message in time');
          if (suffix === '-stream') {
            t.ok(streamedWhole(m), 'every event arrived');
            t.ok(m.answers.every((a) => a.firstByteMs! >= a.ms - 20), 'the first token came only with the last');
          }
          if (suffix === '-long') t.ok(m.answers.every((a) => a.bytes === LONG_BYTES), 'the whole body');
        },
        { timeoutMs: 8000, body },
      );
    }
  }
});

t.test('EPP202: STREAMED response bodies (requests FULL_DUPLEX_STREAMED, trailers SEND): streamed completions break off', async (t) => {
  const ef = fullDuplex((f) => {
    f.processing_mode.response_body_mode = 'STREAMED';
    f.message_timeout = '2s';
  });
  for (const [suffix, body] of Object.entries(BODIES)) {
    const key = `EPP202-response-STREAMED${suffix}`;
    await scenario(
      t,
      key,
      ef,
      plainRoute(),
      (t, m) => {
        t.ok(m.webhook.includes('EPP202'), 'kubectl printed EPP202 (relaxed to a warning to measure)');
        t.same(statuses(m), recorded(key), 'the recorded statuses');
        t.equal(m.eppRequests, 3, 'the EPP picked for every request');
        if (suffix === '-stream') {
          t.ok(m.answers.every((a) => a.error && a.events === 0 && a.bytes === 0), 'after the status, the body broke off with no token');
          t.equal(stat(m, 'ext_proc.spurious_msgs_received'), 3, "Envoy refused the EPP's answer to the first chunk as spurious, once per request");
        } else {
          t.ok(m.answers.every((a) => !a.error), 'the whole body');
          if (suffix === '-long') t.ok(m.answers.every((a) => a.bytes === LONG_BYTES), 'the whole body');
        }
      },
      { timeoutMs: 8000, body },
    );
  }
});

t.test('GRPC response bodies (requests FULL_DUPLEX_STREAMED, trailers SEND): completions pass, so EPP202 does not say it', async (t) => {
  const ef = fullDuplex((f) => {
    f.processing_mode.response_body_mode = 'GRPC';
    f.message_timeout = '2s';
  });
  for (const [suffix, body] of Object.entries(BODIES)) {
    const key = `EPP202-response-GRPC${suffix}`;
    await scenario(t, key, ef, plainRoute(), (t, m) => {
      t.notOk(m.webhook.includes('EPP202'), 'the webhook says nothing of it');
      t.same(statuses(m), recorded(key), 'the recorded statuses');
      t.ok(statuses(m).every((s) => s === 200) && m.answers.every((a) => !a.error), '200, whole');
      t.equal(m.eppRequests, m.answers.length, 'the EPP picked for each');
      if (suffix === '-stream') t.ok(m.answers.every((a) => a.events === 9 && (a.firstByteMs ?? Infinity) < 8 * STREAM_TOKEN_INTERVAL_MS), 'every token, the first long before the last');
      if (suffix === '-long') t.ok(m.answers.every((a) => a.bytes === LONG_BYTES), 'the whole long body');
    }, { count: 2, timeoutMs: 8000, body });
  }
});

t.test('EPP204: request headers sent with request_body_mode NONE (message_timeout at its default)', async (t) => {
  const ef = fullDuplex((f) => {
    f.processing_mode.request_body_mode = 'NONE';
    f.processing_mode.request_trailer_mode = 'SKIP';
    delete f.message_timeout;
  });
  await scenario(t, 'EPP204', ef, plainRoute(), (t, m) => {
    t.ok(m.webhook.includes('EPP204'));
    t.same(statuses(m), recorded('EPP204'));
    if (statuses(m).every((s) => s === 504)) t.ok(m.answers.every((a) => a.ms >= 190), 'each waited message_timeout (200 ms) first');
  });
});

t.test('EPP204 + EPP205: headers only, message_timeout expires, failing open', async (t) => {
  const ef = fullDuplex((f) => {
    f.processing_mode.request_body_mode = 'NONE';
    f.processing_mode.request_trailer_mode = 'SKIP';
    f.failure_mode_allow = true;
    delete f.message_timeout;
  });
  await scenario(t, 'EPP204-fail-open', ef, plainRoute(), (t, m) => {
    t.ok(m.webhook.includes('EPP204') && m.webhook.includes('EPP205'));
    t.same(statuses(m), recorded('EPP204-fail-open'));
  });
});

t.test('EPP205: failure_mode_allow with the EPP down bypasses it; without, the request fails', async (t) => {
  await plane.epp.stop();
  try {
    await scenario(t, 'EPP205-fail-open', fullDuplex((f) => (f.failure_mode_allow = true)), plainRoute(), (t, m) => {
      t.ok(m.webhook.includes('EPP205'));
      t.same(statuses(m), recorded('EPP205-fail-open'), 'FULL_DUPLEX_STREAMED: the recorded statuses');
      t.equal(m.eppRequests, 0);
    });
    const headersOnly = fullDuplex((f) => {
      f.failure_mode_allow = true;
      f.processing_mode = { request_header_mode: 'SEND', response_header_mode: 'SKIP', request_body_mode: 'NONE', response_body_mode: 'NONE' };
    });
    await scenario(t, 'EPP205-fail-open-headers-only', headersOnly, plainRoute(), (t, m) => {
      t.ok(m.webhook.includes('EPP205'));
      t.same(statuses(m), recorded('EPP205-fail-open-headers-only'), 'headers only: the recorded statuses');
    });
    await scenario(t, 'EPP205-fail-closed', fullDuplex(), plainRoute(), (t, m) => {
      t.notOk(m.webhook.includes('EPP205'));
      t.same(statuses(m), recorded('EPP205-fail-closed'));
    });
  } finally {
    await plane.restartEpp({ secureServing: true });
  }
});

t.test('EPP205 with FULL_DUPLEX_STREAMED: the EPP stalled (SIGSTOP) with a stream open, message_timeout 1s, failing open and not', async (t) => {
  const stalled = (failOpen: boolean) =>
    fullDuplex((f) => {
      f.message_timeout = '1s';
      if (failOpen) f.failure_mode_allow = true;
    });
  // One request first, so Envoy's connection to the EPP is up; then the EPP stops answering, its socket still open.
  const stall = async () => {
    const warm = await post(`${plane.gatewayUrl}/v1/completions`);
    if (warm.status !== 200) throw new Error(`the warm-up request got ${warm.status}`);
    plane.epp.process.child.kill('SIGSTOP');
  };
  const resume = () => plane.epp.process.child.kill('SIGCONT');
  // Past message_timeout (1s) and the fixture's grpc_service timeout (10s) both.
  const options = { count: 1, timeoutMs: 15_000, beforeMeasure: stall };
  try {
    for (const failOpen of [true, false]) {
      const key = failOpen ? 'EPP205-stalled-epp-fail-open' : 'EPP205-stalled-epp-fail-closed';
      await scenario(t, key, stalled(failOpen), plainRoute(), (t, m) => {
        t.equal(m.webhook.includes('EPP205'), failOpen, failOpen ? 'kubectl printed EPP205' : 'no EPP205');
        t.same(statuses(m), recorded(key));
        t.ok(m.answers.every((a) => a.status === 0 && a.ms >= 14_500), 'no answer before the client gave up (15 s): neither message_timeout (1 s) nor the gRPC timeout (10 s) ends it in FULL_DUPLEX_STREAMED');
        t.equal(stat(m, 'ext_proc.failure_mode_allowed'), 0, 'nothing failed open');
      }, options);
      resume();
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    resume();
  }
});

t.test('EPP206: headers SKIP, bodies NONE, no per-route override: the EPP is never consulted', async (t) => {
  const ef = fullDuplex((f, _c, doc) => {
    f.processing_mode = { request_header_mode: 'SKIP', response_header_mode: 'SKIP', request_body_mode: 'NONE', response_body_mode: 'NONE' };
    doc.spec.configPatches.splice(2, 1); // the fixture's per-route patch (disabled on /health) would silence EPP206
  });
  await scenario(t, 'EPP206', ef, plainRoute(), (t, m) => {
    t.ok(m.webhook.includes('EPP206'));
    t.same(statuses(m), [200, 200, 200]);
    t.equal(m.eppRequests, 0, 'the EPP saw nothing');
  });
});

t.test('EPP206: a filter disabled: true, and per-route overrides that do not turn a silent filter on', async (t) => {
  // The fixture's filter as it is (every mode the EPP needs), but disabled: only a per-route config under its name
  // would turn it on, and the fixture's one, on /health, is disabled: true.
  await scenario(t, 'EPP206-filter-disabled', fullDuplex((_f, _c, doc) => (doc.spec.configPatches[0].patch.value.disabled = true)), plainRoute(), sentNothing);
  const silent = { request_header_mode: 'SKIP', response_header_mode: 'SKIP', request_body_mode: 'NONE', response_body_mode: 'NONE' };
  const PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute';
  const withEntry = (entry: any, filterName?: string) =>
    fullDuplex((f, _c, doc) => {
      f.processing_mode = silent;
      if (filterName !== undefined) doc.spec.configPatches[0].patch.value.name = filterName;
      doc.spec.configPatches.splice(2, 1, {
        applyTo: 'HTTP_ROUTE',
        match: { context: 'GATEWAY' },
        patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': entry } } },
      });
    });
  const withOverride = (overrides: any, filterName?: string) => withEntry({ '@type': PER_ROUTE, overrides }, filterName);
  // Envoy keys per-route config by filter name: this one configures a filter named envoy.filters.http.ext_proc, and the
  // EnvoyFilter's is named epp-ext-proc.
  await scenario(t, 'EPP206-override-under-another-name', withOverride({ processing_mode: eppProcessingMode() }, 'epp-ext-proc'), plainRoute(), sentNothing);
  await scenario(t, 'EPP206-override-without-mode', withOverride({ failure_mode_allow: false }), plainRoute(), sentNothing);
  // The override that would turn it on, as the config of a FilterConfig with disabled: true: Envoy never reads it.
  const ignored = { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', disabled: true, config: { '@type': PER_ROUTE, overrides: { processing_mode: eppProcessingMode() } } };
  await scenario(t, 'EPP206-override-in-disabled-filter-config', withEntry(ignored), plainRoute(), sentNothing);
});

t.test("FilterConfig under the ext_proc filter's name: turns a disabled filter on with a config, is refused without one", async (t) => {
  // The fixture's filter disabled: true, and on every route (the fixture's /health patch replaced) `entry` under its name.
  const disabledWith = (entry: any) =>
    fullDuplex((_f, _c, doc) => {
      doc.spec.configPatches[0].patch.value.disabled = true;
      doc.spec.configPatches.splice(2, 1, {
        applyTo: 'HTTP_ROUTE',
        match: { context: 'GATEWAY' },
        patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': entry } } },
      });
    });
  const FILTER_CONFIG = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';
  const perRoute = { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', overrides: { processing_mode: eppProcessingMode() } };
  // A FilterConfig whose config is the filter's per-route config, and that per-route config itself, each turn it on.
  const turningOn: [string, string, any][] = [
    ['filter-config-turns-disabled-filter-on', 'the FilterConfig', { '@type': FILTER_CONFIG, config: perRoute }],
    ['per-route-config-turns-disabled-filter-on', 'the ExtProcPerRoute', perRoute],
  ];
  // A FilterConfig turns the filter on, and the config it holds, ext_proc's own disabled: true, skips the route.
  await scenario(t, 'EPP206-filter-config-holding-disabled', disabledWith({ '@type': FILTER_CONFIG, config: { '@type': perRoute['@type'], disabled: true } }), plainRoute(), sentNothing);
  for (const [key, what, entry] of turningOn) {
    await scenario(t, key, disabledWith(entry), plainRoute(), (t, m) => {
      t.notOk(m.webhook.includes('EPP206'), `no EPP206: ${what} turns the filter on`);
      t.same(statuses(m), [200, 200, 200]);
      t.equal(m.eppRequests, 3, 'the EPP picked every request');
    });
  }
  const rdsRejected = async () => [...(await plane.envoy.stats('rds\\..*update_rejected'))].reduce((n, [, v]) => n + v, 0);
  // Then the HTTPRoute moves /v1 to /v2: were the route update taken, /v1 would get 404.
  const movedRoute = plainRoute();
  movedRoute.spec.rules[0].matches[0].path.value = '/v2';
  const moveRoute = async () => {
    const moved = await apply(plane, movedRoute);
    if (moved.code !== 0) throw new Error(moved.stderr);
    await new Promise((r) => setTimeout(r, 2000));
  };
  // Configs Envoy refuses on the route: a FilterConfig with no config, and the per-route config with a mode number no
  // mode has (which istiod passes on).
  const refusedOnTheRoute: [string, string, any][] = [
    ['EPP217-filter-config-without-config', 'EPP217', { '@type': FILTER_CONFIG, disabled: false }],
    ['EPP210-per-route-mode-number', 'EPP210', { ...perRoute, overrides: { processing_mode: { ...eppProcessingMode(), request_body_mode: 9 } } }],
  ];
  for (const [key, code, entry] of refusedOnTheRoute) {
    const before = await rdsRejected();
    await scenario(
      t,
      key,
      disabledWith(entry),
      plainRoute(),
      (t, m) => {
        t.ok(m.webhook.includes(code), `kubectl printed ${code} (a denial, relaxed to a warning here)`);
        t.same(statuses(m), recorded(key));
        t.ok(statuses(m).every((s) => s === 200), '/v1 still routed: the HTTPRoute that moved it to /v2 never reached Envoy');
        t.equal(m.eppRequests, 3, "the old routes are from the last scenario Envoy took, whose ExtProcPerRoute turned the filter on");
      },
      { beforeMeasure: moveRoute },
    );
    t.ok((await rdsRejected()) > before, `${key}: Envoy rejected the route update (http.*.rds.*.update_rejected)`);
  }
});

t.test('EPP232: the working filter patched with context SIDECAR_OUTBOUND on the gateway: never inserted', async (t) => {
  const sidecar = fullDuplex((_f, _c, doc) => (doc.spec.configPatches[0].match.context = 'SIDECAR_OUTBOUND'));
  await scenario(t, 'EPP232-sidecar-context', sidecar, plainRoute(), (t, m) => {
    t.ok(m.webhook.includes('EPP232'), 'kubectl printed EPP232');
    t.same(statuses(m), recorded(m.scenario));
    t.ok(statuses(m).every((s) => s === 200) && served(m), 'the Pods answered');
    t.equal(m.eppRequests, 0, 'the EPP saw none of them');
  });
  const filters = (await httpFilters(plane.envoy, plane.envoyPort)).map((f) => f.name);
  t.notOk(filters.includes('envoy.filters.http.ext_proc'), `no ext_proc filter in the gateway's chain (${filters.join(', ')})`);
});

t.test('EPP302: the EPP cluster without HTTP/2', async (t) => {
  await scenario(t, 'EPP302', fullDuplex((_f, c) => delete c.typed_extension_protocol_options), plainRoute(), (t, m) => {
    t.ok(m.webhook.includes('EPP302'));
    t.same(statuses(m), recorded('EPP302'));
    t.equal(m.eppRequests, 0, 'the EPP never got a request');
  });
});

t.test('EPP306: a plaintext cluster against the EPP serving TLS (its default)', async (t) => {
  await scenario(t, 'EPP306', fullDuplex((_f, c) => delete c.transport_socket), plainRoute(), (t, m) => {
    t.ok(m.webhook.includes('EPP306'));
    t.same(statuses(m), recorded('EPP306'));
    t.equal(m.eppRequests, 0);
  });
});

/** The DEFAULT-priority max_requests (or another circuit-breaker limit) Envoy holds for a cluster, from its admin /clusters. */
async function maxRequests(cluster: (name: string) => boolean, limit = 'max_requests'): Promise<number[]> {
  const lines = (await plane.envoy.admin('/clusters')).split('\n');
  return lines.flatMap((line) => {
    const m = new RegExp(`^(.*)::default_priority::${limit}::(\\d+)$`).exec(line);
    return m && cluster(m[1]) ? [Number(m[2])] : [];
  });
}

t.test('EPP322: every request in flight holds an ext_proc stream, counted against the EPP cluster\'s max_requests', async (t) => {
  const latest = (name: string) => name === `epp-cluster-${marker}`;
  const limited = (failOpen: boolean) =>
    fullDuplex((f, c) => {
      // Envoy reads the first entry of the DEFAULT priority (one without priority is): the second is never read.
      c.circuit_breakers = { thresholds: [{ max_requests: 2 }, { priority: 'DEFAULT', max_requests: 100000 }] };
      if (failOpen) f.failure_mode_allow = true;
    });
  // Four streamed completions at once (each about 1.2 s) against a limit of 2.
  const atOnce = { count: 4, concurrent: true, body: STREAMED_COMPLETION, timeoutMs: 8000 };
  await scenario(
    t,
    'EPP322',
    limited(false),
    plainRoute(),
    async (t, m) => {
      t.ok(m.webhook.includes('EPP322'), 'kubectl printed EPP322');
      t.same(statuses(m).toSorted(), recorded('EPP322')?.toSorted(), 'two answered, two failed');
      t.same(statuses(m).toSorted(), [200, 200, 500, 500]);
      t.equal(m.eppRequests, 2, 'the EPP saw the two it picked for');
      t.equal(stat(m, '.upstream_rq_active_overflow'), 2, "Envoy counted two overflows on the EPP's cluster");
      t.ok(m.answers.filter((a) => a.status === 500).every((a) => a.ms < 1000), 'the two failed at once, not after waiting for a stream');
      t.same(await maxRequests(latest), [2], "Envoy holds the first DEFAULT entry's limit");
    },
    atOnce,
  );
  await scenario(
    t,
    'EPP322-fail-open',
    limited(true),
    plainRoute(),
    (t, m) => {
      t.same(statuses(m).toSorted(), [200, 200, 500, 500], 'failing open lets none of the two past the limit through: 500 as before');
      t.same(statuses(m).toSorted(), recorded('EPP322-fail-open')?.toSorted());
      t.equal(m.eppRequests, 2);
      t.equal(stat(m, '.upstream_rq_active_overflow'), 2);
    },
    atOnce,
  );
  // failure_mode_allow from a route's ExtProcPerRoute instead of the filter (istiod's InferencePool routes carry it
  // that way, EPP501-fail-open): the same two past the limit.
  const routeFailOpen = limited(false);
  routeFailOpen.spec.configPatches.push(poolRouteOverride('envoy.filters.http.ext_proc', { overrides: { failure_mode_allow: true } }));
  await scenario(
    t,
    'EPP322-route-fail-open',
    routeFailOpen,
    plainRoute(),
    async (t, m) => {
      t.ok(m.webhook.includes('EPP322'));
      t.same(statuses(m).toSorted(), recorded('EPP322-route-fail-open')?.toSorted());
      t.equal(stat(m, '.upstream_rq_active_overflow'), 2, 'two refused a stream at the limit');
      t.ok(JSON.stringify(await routeConfig(plane.envoy)).includes('"failure_mode_allow":true'), "Envoy's route carries the override's failure_mode_allow: true");
      t.same(statuses(m).toSorted(), [200, 200, 500, 500], "a route's failure_mode_allow lets none of the two through either");
      t.equal(stat(m, 'ext_proc.failure_mode_allowed'), 0, 'nothing failed open');
    },
    atOnce,
  );
  // Unset, the limit is Envoy's default: the working fixture without its circuit_breakers.
  await scenario(
    t,
    'EPP322-default',
    fullDuplex((_f, c) => delete c.circuit_breakers),
    plainRoute(),
    async (t, m) => {
      t.ok(m.webhook.includes('EPP322'));
      t.same(statuses(m), [200, 200, 200, 200], 'four in flight are well inside the default');
      t.same(await maxRequests(latest), [1024], "Envoy's default, as the message says");
      t.same(await maxRequests(latest, 'max_pending_requests'), [1024], "the fix's \"1,024 by default too\"");
    },
    atOnce,
  );
  // EPP322's fix raises max_pending_requests too: the requests that wait while Envoy connects to the EPP. With 1, on a
  // cluster Envoy has not connected yet, three of four at once are refused; once it is connected, none wait.
  const pendingOne = fullDuplex((_f, c) => (c.circuit_breakers = { thresholds: [{ max_requests: 4294967295, max_pending_requests: 1 }] }));
  await scenario(
    t,
    'EPP322-pending-connecting',
    pendingOne,
    plainRoute(),
    (t, m) => {
      t.same(statuses(m).toSorted(), [200, 500, 500, 500]);
      t.same(statuses(m).toSorted(), recorded('EPP322-pending-connecting')?.toSorted());
      t.equal(stat(m, '.upstream_rq_pending_overflow'), 3, 'refused while waiting for the connection');
    },
    atOnce,
  );
  await scenario(
    t,
    'EPP322-pending-connected',
    pendingOne,
    plainRoute(),
    (t, m) => {
      t.same(statuses(m), [200, 200, 200, 200], 'the connection is up: no request waits');
      t.equal(stat(m, '.upstream_rq_pending_overflow'), 0);
    },
    { ...atOnce, beforeMeasure: async () => void (await post(`${plane.gatewayUrl}/v1/completions`)) },
  );
  // A null entry is an empty one (DEFAULT, nothing set), and it comes first: Envoy's default again.
  await scenario(
    t,
    'EPP322-null-entry',
    fullDuplex((_f, c) => (c.circuit_breakers = { thresholds: [null, { max_requests: 100000 }] })),
    plainRoute(),
    async (t, m) => {
      t.ok(m.webhook.includes('EPP322'));
      t.same(statuses(m), [200]);
      t.same(await maxRequests(latest), [1024], "the null entry is read, at Envoy's default");
    },
    { count: 1 },
  );
});

/** istiod's cluster of the pool's EPP Service, the one its own ext_proc filter calls on InferencePool routes. */
const POOL_EPP_CLUSTER = `outbound|${EPP_SERVICE_PORT}||${EPP_SERVICE}.${NS}.svc.cluster.local`;
const EPP_TLS = { mode: 'SIMPLE', insecureSkipVerify: true };

/**
 * The InferencePool route alone (istiod's own filter and EPP cluster, no EnvoyFilter of ours) under DestinationRules
 * (`rules`: name -> spec, undefined to delete it), one of which gives that cluster TLS (as GAIE's Istio guide has), once
 * Envoy holds `limit` as that cluster's max_requests.
 */
let limitedPoolApplyOutput = '';
async function setUpLimitedPool(rules: Record<string, any>, limit: number): Promise<string[]> {
  await plane.cp.kubectl(['delete', 'envoyfilter', '-n', NS, 'epp-ext-proc', '--ignore-not-found']);
  const routed = await apply(plane, poolRoute({ inject: false }));
  if (routed.code !== 0) throw new Error(routed.stderr);
  const printed = [...codesIn(routed.stderr)];
  limitedPoolApplyOutput = '';
  for (const [key, spec] of Object.entries(rules)) {
    // `name`, in the route's namespace, or `namespace/name`.
    const [namespace, name] = key.includes('/') ? key.split('/') : [NS, key];
    if (spec === undefined) {
      await plane.cp.kubectl(['delete', 'destinationrule', '-n', namespace, name, '--ignore-not-found']);
      continue;
    }
    const applied = await apply(plane, { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name, namespace }, spec });
    if (applied.code !== 0) throw new Error(applied.stderr);
    printed.push(...codesIn(applied.stderr));
    limitedPoolApplyOutput += applied.stderr;
  }
  await waitFor(`Envoy to hold max_requests ${limit} on ${POOL_EPP_CLUSTER}`, async () => ((await maxRequests((n) => n === POOL_EPP_CLUSTER)).includes(limit) ? true : undefined), 30_000);
  // The route (RDS) may follow the cluster push: let it land before the client sends.
  await new Promise((r) => setTimeout(r, 1500));
  return [...new Set(printed)].sort();
}

t.test("EPP501: a DestinationRule's http2MaxRequests caps the requests in flight through istiod's EPP cluster", async (t) => {
  t.teardown(async () => {
    await plane.cp.kubectl(['delete', 'destinationrule', '-n', NS, 'epp-limit', 'epp-wildcard', '--ignore-not-found']);
    await plane.cp.kubectl(['delete', 'destinationrule', '-n', ISTIO_NAMESPACE, 'epp-root', '--ignore-not-found']);
    await plane.cp.kubectl(['delete', 'destinationrule', '-n', 'team-a', 'epp-limit', '--ignore-not-found']);
  });
  const host = `${EPP_SERVICE}.${NS}.svc.cluster.local`;
  // Four streamed completions at once (each about 1.2 s) on the InferencePool route.
  const atOnce = (rules: Record<string, any>, limit: number) => ({ count: 4, concurrent: true, body: STREAMED_COMPLETION, timeoutMs: 8000, setUp: () => setUpLimitedPool(rules, limit) });
  // Envoy's stat names quote a cluster name holding '|' with a trailing ';'.
  /** TLS for the EPP, as GAIE's Istio guide has, and a cap of 2. */
  const capped = { host, trafficPolicy: { tls: EPP_TLS, connectionPool: { http: { http2MaxRequests: 2 } } } };
  const overflowed = (m: Measurement) => m.envoyStats[`cluster.${POOL_EPP_CLUSTER};.upstream_rq_active_overflow`] ?? 0;
  // The registration's matchConditions: a rule that sets no connection pool never reaches the webhook.
  const ruleAdmissions = async () =>
    (await plane.webhook.metrics()).split('\n').filter((l) => l.startsWith('epp_webhook_admission_requests_total{') && l.includes('kind="DestinationRule"')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  const before = await ruleAdmissions();
  const tlsOnly = await apply(plane, { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'epp-limit', namespace: NS }, spec: { host, trafficPolicy: { tls: EPP_TLS } } });
  t.equal(tlsOnly.code, 0, tlsOnly.stderr);
  t.equal(await ruleAdmissions(), before, 'a DestinationRule without a connection pool is not sent to the webhook');
  await scenario(
    t,
    'EPP501',
    undefined,
    undefined,
    (t, m) => {
      t.same(m.webhook, ['EPP501'], 'kubectl printed EPP501 for the DestinationRule');
      t.same(statuses(m).toSorted(), [200, 200, 500, 500], 'two answered, two failed');
      t.same(statuses(m).toSorted(), recorded('EPP501')?.toSorted());
      t.equal(m.eppRequests, 2, 'the EPP saw the two it picked for');
      t.equal(overflowed(m), 2, "Envoy counted two overflows on istiod's EPP cluster");
      t.ok(m.answers.filter((a) => a.status === 500).every((a) => a.ms < 1000), 'the two failed at once, not after waiting for a stream');
    },
    atOnce({ 'epp-limit': capped }, 2),
  );
  // A FailOpen pool: istiod's route override turns failure_mode_allow on, and a request refused a stream at the limit
  // skips the EPP (unlike EPP322-fail-open, an EnvoyFilter's own filter, where it got 500).
  const failOpen = (on: boolean) => async () => {
    const mode = on ? 'FailOpen' : 'FailClose';
    const patched = await plane.cp.kubectl(['patch', 'inferencepool', POOL, '-n', NS, '--type', 'merge', '-p', JSON.stringify({ spec: { endpointPickerRef: { failureMode: mode } } })]);
    if (patched.code !== 0) throw new Error(patched.stderr);
    await waitFor(`istiod's route override to say failure_mode_allow ${on}`, async () => (JSON.stringify(await routeConfig(plane.envoy)).includes('"failure_mode_allow":true') === on ? true : undefined), 30_000);
  };
  try {
    await scenario(
      t,
      'EPP501-fail-open',
      undefined,
      undefined,
      (t, m) => {
        t.same(statuses(m), [200, 200, 200, 200], 'all answered');
        t.same(statuses(m), recorded('EPP501-fail-open'));
        t.equal(overflowed(m), 2, 'two were refused a stream to the EPP');
        t.equal(stat(m, 'ext_proc.failure_mode_allowed'), 2, 'and went on without it');
        t.equal(m.eppRequests, 2, 'the EPP picked for two only: the other two went where Envoy\'s own load balancing sent them');
      },
      { ...atOnce({ 'epp-limit': capped }, 2), beforeMeasure: failOpen(true) },
    );
  } finally {
    await failOpen(false)();
  }
  await scenario(
    t,
    'EPP501-sized',
    undefined,
    undefined,
    (t, m) => {
      t.same(m.webhook, [], "llm-d's sizing: no warning");
      t.same(statuses(m), [200, 200, 200, 200]);
      t.equal(m.eppRequests, 4);
      t.equal(overflowed(m), 0);
    },
    atOnce({ 'epp-limit': { host, trafficPolicy: { tls: EPP_TLS, connectionPool: { http: { http1MaxPendingRequests: 256000, http2MaxRequests: 256000 } } } } }, 256000),
  );
  // A portLevelSettings entry of the EPP's port replaces the rule's whole policy: without a connectionPool of its own,
  // istiod's defaults (2^32-1, the fix's "drop it") hold, whatever the rule's own says.
  await scenario(
    t,
    'EPP501-port-level-without-pool',
    undefined,
    undefined,
    async (t, m) => {
      t.same(m.webhook, [], 'the rule\'s own cap does not reach the port: no warning');
      t.same(statuses(m), [200, 200, 200, 200]);
      t.same(await maxRequests((n) => n === POOL_EPP_CLUSTER, 'max_pending_requests'), [4294967295], 'nor its http1MaxPendingRequests');
    },
    atOnce({ 'epp-limit': { host, trafficPolicy: { connectionPool: { http: { http1MaxPendingRequests: 1, http2MaxRequests: 2 } }, portLevelSettings: [{ port: { number: EPP_SERVICE_PORT }, tls: EPP_TLS }] } } }, 4294967295),
  );
  // Wildcard hosts are not judged: within one namespace istiod takes the most specific host, and the rule that gives
  // the EPP its TLS names the Service. Alone, a wildcard rule caps the cluster (the model Pods' port keeps plaintext: the cap and TLS are in
  // the entry of the EPP's port); beside the rule naming the Service, it reaches nothing.
  const wildcard = { host: `*.${NS}.svc.cluster.local`, trafficPolicy: { portLevelSettings: [{ port: { number: EPP_SERVICE_PORT }, tls: EPP_TLS, connectionPool: { http: { http2MaxRequests: 2 } } }] } };
  await scenario(
    t,
    'EPP501-wildcard-alone',
    undefined,
    undefined,
    (t, m) => {
      t.same(m.webhook, [], 'not judged');
      t.same(statuses(m).toSorted(), [200, 200, 500, 500], 'the only rule for the host: istiod applies it');
      t.same(statuses(m).toSorted(), recorded('EPP501-wildcard-alone')?.toSorted());
      t.equal(overflowed(m), 2);
    },
    atOnce({ 'epp-limit': undefined, 'epp-wildcard': wildcard }, 2),
  );
  await scenario(
    t,
    'EPP501-wildcard-beside-the-services-rule',
    undefined,
    undefined,
    (t, m) => {
      t.same(m.webhook, [], 'the rule naming the Service sets no connection pool: the webhook is not called');
      t.same(statuses(m), [200, 200, 200, 200], "the rule naming the Service is istiod's pick: the wildcard's cap reaches nothing");
      t.same(statuses(m), recorded('EPP501-wildcard-beside-the-services-rule'));
      t.equal(overflowed(m), 0);
    },
    atOnce({ 'epp-limit': { host, trafficPolicy: { tls: EPP_TLS } } }, 4294967295),
  );
  // Which gateways a rule reaches (the message names them), asked of istiod: the root namespace's rule reaches a
  // gateway with no rule for the host in its own namespace or the EPP's; another namespace's reaches none but its own.
  await scenario(
    t,
    'EPP501-root-namespace',
    undefined,
    undefined,
    (t, m) => {
      t.same(m.webhook, ['EPP501']);
      t.match(limitedPoolApplyOutput, "for gateways in any namespace with no rule for that host in their own namespace or the EPP's", 'the scope kubectl printed');
      t.same(statuses(m).toSorted(), [200, 200, 500, 500], 'the gateway has no rule of its own or the EPP namespace\'s: the root one holds');
      t.same(statuses(m).toSorted(), recorded('EPP501-root-namespace')?.toSorted());
      t.equal(overflowed(m), 2);
    },
    atOnce({ 'epp-limit': undefined, 'epp-wildcard': undefined, [`${ISTIO_NAMESPACE}/epp-root`]: capped }, 2),
  );
  t.equal((await plane.cp.kubectl(['create', 'namespace', 'team-a'])).code, 0);
  await scenario(
    t,
    'EPP501-other-namespace',
    undefined,
    undefined,
    async (t, m) => {
      t.same(m.webhook, ['EPP501']);
      t.match(limitedPoolApplyOutput, 'for gateways in namespace team-a only', 'the scope kubectl printed');
      t.same(await maxRequests((n) => n === POOL_EPP_CLUSTER), [4294967295], "the gateway's cluster has not its cap");
      t.same(statuses(m), [500], 'nor its TLS: plaintext against the EPP serving TLS');
      t.same(statuses(m), recorded('EPP501-other-namespace'));
    },
    { ...atOnce({ [`${ISTIO_NAMESPACE}/epp-root`]: undefined, 'team-a/epp-limit': capped }, 4294967295), count: 1, concurrent: false },
  );
  // The fix's "drop it": istiod writes 2^32-1 where the rule keeps a connectionPool without http2MaxRequests; the mesh's
  // defaultTrafficPolicy connection pool applies only to a rule with no connectionPool (istiod reloads its mesh file).
  await t.test("EPP501's fix: a connectionPool without http2MaxRequests gets 4294967295, the mesh's default only a rule without one", async (t) => {
    const meshFile = join(plane.cp.dir, 'istiod-mesh.yaml');
    const mesh = readFileSync(meshFile, 'utf8');
    const limitIs = (limit: number) => waitFor(`Envoy to hold max_requests ${limit} on ${POOL_EPP_CLUSTER}`, async () => ((await maxRequests((n) => n === POOL_EPP_CLUSTER)).includes(limit) ? true : undefined), 30_000);
    const rule = (trafficPolicy: any) => apply(plane, { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'epp-limit', namespace: NS }, spec: { host, trafficPolicy } });
    await plane.cp.kubectl(['delete', 'destinationrule', '-n', 'team-a', 'epp-limit', '--ignore-not-found']);
    try {
      writeFileSync(meshFile, `${mesh}defaultTrafficPolicy:\n  connectionPool:\n    http:\n      http2MaxRequests: 3\n`);
      t.equal((await rule({ tls: EPP_TLS })).code, 0);
      t.ok(await limitIs(3), "a rule without a connectionPool: the mesh's default");
      t.equal((await rule({ tls: EPP_TLS, connectionPool: { tcp: { connectTimeout: '5s' } } })).code, 0);
      t.ok(await limitIs(4294967295), "a connectionPool without http2MaxRequests: 4294967295, not the mesh's default");
      t.equal((await rule({ tls: EPP_TLS })).code, 0);
      t.ok(await limitIs(3), 'the rule without one again: the default again');
    } finally {
      writeFileSync(meshFile, mesh);
    }
    t.ok(await limitIs(4294967295), 'the mesh without a default: 4294967295');
  });
  t.ok((await ruleAdmissions()) > before, 'the ones that set one are');
});

t.test('EPP317: a corrected copy of the EPP cluster added after the broken one', async (t) => {
  // The fixture's cluster made plaintext (EPP306's breakage), then the same cluster as it should be, added after it.
  const ef = fullDuplex((_f, cluster, doc) => {
    const corrected = structuredClone(cluster);
    delete cluster.transport_socket;
    doc.spec.configPatches.splice(2, 0, { applyTo: 'CLUSTER', match: { context: 'GATEWAY' }, patch: { operation: 'ADD', value: corrected } });
  });
  const before = await xdsCounters(plane.envoy);
  await scenario(t, 'EPP317-corrected-copy-after-broken', ef, plainRoute(), (t, m) => {
    t.ok(m.webhook.includes('EPP317'));
    t.ok(m.webhook.includes('EPP306'), 'the webhook judges the first, plaintext cluster, as Envoy gets it');
    t.same(statuses(m), recorded('EPP317-corrected-copy-after-broken'));
    t.equal(m.eppRequests, 0, 'no request reached the EPP for a pick: the gateway calls it in plaintext, as without the copy');
  });
  const after = await xdsCounters(plane.envoy);
  t.equal(after.cdsRejected, before.cdsRejected, 'Envoy refused no cluster update: istiod sent it one cluster of that name (cluster_manager.cds.update_rejected)');
  const kept = (await dynamicClusters(plane.envoy)).filter((c: any) => /^epp-cluster-\d+$/.test(c?.name ?? ''));
  t.equal(kept.length, 1, 'one cluster of that name');
  t.equal(kept.at(-1)?.transport_socket, undefined, 'and it is the first, plaintext one: the corrected copy never applied');
});

/** istiod's own cluster of the EPP Service's port: the name people copy into grpc_service.envoy_grpc.cluster_name. */
const ISTIOD_EPP_CLUSTER = `outbound|${EPP_SERVICE_PORT}||${EPP_SERVICE}.${NS}.svc.cluster.local`;
/** The fixture (with `edit`) with its cluster, and the cluster_name that calls it, named as istiod's cluster of the EPP Service. */
const underIstiodsName = (edit?: (filter: any, cluster: any, doc: any) => void) =>
  JSON.parse(JSON.stringify(fullDuplex(edit)).replaceAll('"epp-cluster"', JSON.stringify(ISTIOD_EPP_CLUSTER)));
const istiodsEppClusters = async () => (await dynamicClusters(plane.envoy)).filter((c) => c.name === ISTIOD_EPP_CLUSTER);

t.test("EPP318: a CLUSTER ADD named as istiod's own cluster of the EPP Service (SotW xDS, as the harness's Envoy takes it)", async (t) => {
  const before = await xdsCounters(plane.envoy);
  await scenario(
    t,
    'EPP318-istiod-name',
    underIstiodsName(),
    plainRoute(),
    (t, m) => {
      t.ok(m.webhook.includes('EPP318'));
      t.same(statuses(m), recorded('EPP318-istiod-name'));
      t.equal(m.eppRequests, 0, "no request reached the EPP for a pick: the gateway calls it through istiod's plaintext cluster");
    },
    { renamed: false },
  );
  const rejected = await xdsCounters(plane.envoy);
  t.ok(rejected.cdsRejected > before.cdsRejected, 'Envoy rejected the cluster update (cluster_manager.cds.update_rejected)');
  t.ok(plane.envoy.log().includes(`duplicate cluster ${ISTIOD_EPP_CLUSTER} found`), "Envoy's log names the duplicate");
  const kept = await istiodsEppClusters();
  t.equal(kept.length, 1, 'one cluster of that name');
  t.equal(kept[0]?.type, 'EDS', "istiod's (EDS), which came first: the EnvoyFilter's STATIC cluster never applied");
  t.equal(kept[0]?.transport_socket, undefined, "and without the EnvoyFilter's TLS");

  // A Service created after it: its cluster reaches Envoy, though every cluster update is rejected.
  const probe = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'epp318-probe', namespace: NS }, spec: { ports: [{ name: 'tcp', port: 7777, protocol: 'TCP' }] } };
  const created = await apply(plane, probe);
  if (created.code !== 0) throw new Error(created.stderr);
  const probeCluster = `outbound|7777||epp318-probe.${NS}.svc.cluster.local`;
  const after = await waitForPush(plane.envoy, rejected, async () => (await clusterNames(plane.envoy)).includes(probeCluster));
  t.ok(after.cdsRejected > rejected.cdsRejected, "the update that brought the new Service's cluster was rejected too");
  t.equal(after.cdsSuccess, rejected.cdsSuccess, 'and no cluster update was accepted');
  t.ok((await clusterNames(plane.envoy)).includes(probeCluster), "yet Envoy applied the update's other clusters: the new Service's cluster is there");
  await plane.cp.kubectl(['delete', 'service', '-n', NS, 'epp318-probe']);

  // The same name with a broken setting (no HTTP/2, EPP302's breakage, and plaintext) against an EPP serving plaintext.
  await plane.restartEpp({ secureServing: false });
  try {
    const broken = underIstiodsName((_f, cluster) => {
      delete cluster.typed_extension_protocol_options;
      delete cluster.transport_socket;
    });
    await scenario(
      t,
      'EPP318-istiod-name-no-http2-plaintext-epp',
      broken,
      plainRoute(),
      (t, m) => {
        t.ok(m.webhook.includes('EPP318'));
        t.same(statuses(m), recorded('EPP318-istiod-name-no-http2-plaintext-epp'));
        t.equal(m.eppRequests, 3, "the EPP picked for every request, over istiod's HTTP/2 cluster: the EnvoyFilter's HTTP/1 one (EPP302: 500) never applied");
      },
      { renamed: false },
    );
    t.equal((await istiodsEppClusters())[0]?.type, 'EDS', "istiod's cluster, again");
  } finally {
    await plane.restartEpp({ secureServing: true });
  }
});

t.test("Envoy rejects a listener update (EPP319's filter behind the router, EPP215's message_timeout above 1h): a running gateway keeps its old config; one that starts has no listener", async (t) => {
  const tooLong = fullDuplex((f) => (f.message_timeout = '3601s'));
  let lds = { before: 0, after: 0 };
  // The working fixture first, then the same EnvoyFilter, its cluster's name kept, with what Envoy refuses.
  const goodThenRefused = (refusedObject: any) => async () => {
    const name = `epp-cluster-${++marker}`;
    const routed = await apply(plane, plainRoute());
    if (routed.code !== 0) throw new Error(routed.stderr);
    const good = await applyAndWait(plane, stringify(fullDuplex()).replaceAll('epp-cluster', name), name);
    if (good.code !== 0) throw new Error(good.stderr);
    const before = await xdsCounters(plane.envoy);
    const refused = await apply(plane, stringify(refusedObject).replaceAll('epp-cluster', name));
    if (refused.code !== 0) throw new Error(refused.stderr);
    await waitFor('Envoy to take or refuse the listener update', async () => {
      const now = await xdsCounters(plane.envoy);
      return now.ldsSuccess + now.ldsRejected > before.ldsSuccess + before.ldsRejected ? true : undefined;
    }, 30_000, 200);
    await new Promise((r) => setTimeout(r, 1500));
    lds = { before: before.ldsRejected, after: (await xdsCounters(plane.envoy)).ldsRejected };
    return codesIn(refused.stderr).sort();
  };
  // EPP319 asked of istiod's own placement: ADD appends the filter to the chain, behind the router.
  const added = fullDuplex((_f, _c, doc) => {
    doc.spec.configPatches[0].patch.operation = 'ADD';
    delete doc.spec.configPatches[0].match.listener.filterChain.filter.subFilter;
  });
  await scenario(t, 'EPP319-add-running', undefined, undefined, async (t, m) => {
    t.ok(m.webhook.includes('EPP319'), 'kubectl printed EPP319 (a denial, relaxed to a warning here)');
    t.ok(lds.after > lds.before, 'Envoy rejected the listener update (listener_manager.lds.update_rejected)');
    t.match(plane.envoy.log(), /terminal filter named envoy\.filters\.http\.router .*must be the last filter in a http filter chain/, "for the reason EPP319's message quotes");
    t.same(statuses(m), recorded('EPP319-add-running'));
    t.ok(statuses(m).every((s) => s === 200) && m.eppRequests === m.answers.length, 'the old chain still routes through the EPP');
  }, { setUp: goodThenRefused(added) });
  await scenario(t, 'EPP215-listener-rejected-running', undefined, undefined, async (t, m) => {
    t.ok(m.webhook.includes('EPP215'), 'kubectl printed EPP215 (a denial, relaxed to a warning here)');
    t.ok(lds.after > lds.before, 'Envoy rejected the listener update (listener_manager.lds.update_rejected)');
    t.same(statuses(m), recorded('EPP215-listener-rejected-running'));
    t.ok(statuses(m).every((s) => s === 200), 'answered, through the old config');
    t.equal(m.eppRequests, m.answers.filter((a) => a.status === 200).length, 'the EPP picked for each answered request');
    const filter = (await httpFilters(plane.envoy, plane.envoyPort)).find((f) => f.name === 'envoy.filters.http.ext_proc');
    t.equal(filter?.config?.message_timeout, '1000s', "Envoy's filter still has the old config's message_timeout");
  }, { setUp: goodThenRefused(tooLong) });
  try {
    await scenario(t, 'EPP215-listener-rejected-starting', undefined, undefined, async (t, m) => {
      t.same(statuses(m), recorded('EPP215-listener-rejected-starting'));
      t.ok(m.answers.every((a) => a.status === 0), 'no HTTP answer: nothing listens');
      t.ok((await xdsCounters(plane.envoy)).ldsRejected > 0, 'the gateway that started rejected the listener update');
      t.notOk((await plane.envoy.admin('/listeners')).includes(`:${plane.envoyPort}`), "and has no listener on the Gateway's port");
    }, { setUp: async () => [], beforeMeasure: () => plane.restartEnvoy({ xds: 'GRPC', listening: false }) });
  } finally {
    await plane.cp.kubectl(['delete', 'envoyfilter', '-n', NS, 'epp-ext-proc', '--ignore-not-found']);
    await plane.restartEnvoy({ xds: 'GRPC' });
  }
});

t.test("EPP318 over delta xDS (Istio's default for istio-proxy): a gateway that starts with that EnvoyFilter in place", async (t) => {
  await removeEnvoyFilter('epp-ext-proc'); // so that applying it again is pushed
  try {
    await scenario(
      t,
      'EPP318-istiod-name-delta-start',
      underIstiodsName(),
      plainRoute(),
      (t, m) => {
        t.ok(m.webhook.includes('EPP318'));
        t.same(statuses(m), recorded('EPP318-istiod-name-delta-start'));
        t.equal(m.eppRequests, 0, 'the EPP saw nothing');
      },
      { renamed: false, beforeMeasure: () => plane.restartEnvoy({ xds: 'DELTA_GRPC' }) },
    );
    const counters = await xdsCounters(plane.envoy);
    t.equal(counters.cdsSuccess, 0, 'Envoy accepted no cluster update');
    t.ok(counters.cdsRejected > 0, 'it rejected them (cluster_manager.cds.update_rejected)');
    t.ok(plane.envoy.log().includes(`duplicate name ${ISTIOD_EPP_CLUSTER}`), "Envoy's log names the duplicate");
    t.same(await dynamicClusters(plane.envoy), [], 'and has no cluster from istiod at all: the whole update was refused');
  } finally {
    await plane.cp.kubectl(['delete', 'envoyfilter', '-n', NS, 'epp-ext-proc', '--ignore-not-found']);
    await plane.restartEnvoy({ xds: 'GRPC' });
  }
});

/** Deletes an EnvoyFilter and waits until Envoy took istiod's push without it (its clusters gone). */
async function removeEnvoyFilter(name: string): Promise<void> {
  const before = await xdsCounters(plane.envoy);
  const deleted = await plane.cp.kubectl(['delete', 'envoyfilter', '-n', NS, name, '--ignore-not-found']);
  if (deleted.code !== 0) throw new Error(deleted.stderr);
  if (deleted.stdout.includes('deleted')) await waitForPush(plane.envoy, before, async () => !(await clusterNames(plane.envoy)).some((c) => c.startsWith('epp-cluster')));
}

t.test("EPP304: the guide's REPLACE on subFilter ext_proc", async (t) => {
  // The guide's EnvoyFilter has a name of its own (epp-ext-proc-poc): alone here, and gone afterwards, so its REPLACE
  // neither swaps the filter of an earlier scenario's EnvoyFilter nor those of the scenarios after it.
  await removeEnvoyFilter('epp-ext-proc');
  const guide = parse(fixture('guide-envoyfilter.yaml'));
  try {
    const extProcFilter = async () => (await httpFilters(plane.envoy, plane.envoyPort)).find((f) => f.name === 'envoy.filters.http.ext_proc');
    await scenario(t, 'EPP304-plain-route', guide, plainRoute(), async (t, m) => {
      t.ok(m.webhook.includes('EPP304'));
      t.same(statuses(m), [200, 200, 200], 'requests pass');
      t.equal(m.eppRequests, 0, 'no ext_proc filter to replace: nothing consults the EPP');
      t.equal(stat(m, 'ext_proc.streams_started'), 0);
      t.equal(await extProcFilter(), undefined, "no ext_proc filter in the gateway's chain: the REPLACE matched nothing");
    });
    await scenario(t, 'EPP304-inferencepool-route', guide, poolRoute({ inject: false }), async (t, m) => {
      t.ok(m.webhook.includes('EPP304'));
      t.same(statuses(m), recorded('EPP304-inferencepool-route'));
      const filter = await extProcFilter();
      t.equal(filter?.config?.grpc_service?.envoy_grpc?.cluster_name, `epp-cluster-${marker}`, "REPLACE swapped istiod's filter (its cluster is dummy) for the guide's");
    });
  } finally {
    await removeEnvoyFilter(guide.metadata.name);
  }
});

t.test('per-route override: ExtProcPerRoute disabled on the route turns the EPP off there', async (t) => {
  const ef = fullDuplex((_f, _c, doc) => {
    doc.spec.configPatches[2].match.routeConfiguration.vhost.route.name = `${NS}.${ROUTE}.0`;
  });
  await scenario(t, 'per-route-disabled', ef, plainRoute(), (t, m) => {
    t.same(statuses(m), [200, 200, 200]);
    t.equal(m.eppRequests, 0, 'the EPP is skipped on the disabled route');
  });
});

t.test('per-route override: BUFFERED in ExtProcPerRoute overrides (EPP202 at the route), failing closed and open', async (t) => {
  // message_timeout 2 s instead of the fixture's 1000 s, as for EPP202 on the filter, to see what the client gets.
  const withOverrides = (more: object) =>
    fullDuplex((f, _c, doc) => {
      f.message_timeout = '2s';
      const route = doc.spec.configPatches[2];
      route.match.routeConfiguration.vhost.route.name = `${NS}.${ROUTE}.0`;
      route.patch.value.typed_per_filter_config['envoy.filters.http.ext_proc'] = {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute',
        overrides: { processing_mode: { request_header_mode: 'SEND', request_body_mode: 'BUFFERED', response_header_mode: 'SKIP', response_body_mode: 'NONE' }, ...more },
      };
    });
  await scenario(
    t,
    'per-route-buffered',
    withOverrides({}),
    plainRoute(),
    (t, m) => {
      t.ok(m.webhook.includes('EPP202'));
      t.same(statuses(m), recorded('per-route-buffered'));
    },
    { count: 2, timeoutMs: 8000 },
  );
  // failure_mode_allow: true in the override, as the published route overrides write it beside BUFFERED.
  await scenario(
    t,
    'per-route-buffered-fail-open',
    withOverrides({ failure_mode_allow: true }),
    plainRoute(),
    (t, m) => {
      t.ok(m.webhook.includes('EPP202') && m.webhook.includes('EPP205'), 'kubectl printed EPP202 and EPP205');
      t.same(statuses(m), recorded('per-route-buffered-fail-open'));
      t.ok(m.answers.every((a) => a.status === 200 && a.ms >= 1900) && served(m), 'each waited message_timeout (2 s), then a Pod answered');
      t.equal(stat(m, 'ext_proc.failure_mode_allowed'), m.answers.length, "the override's failure_mode_allow let each through without the EPP's pick");
    },
    { count: 2, timeoutMs: 8000 },
  );
});

t.test('EPP402: the HTTPRoute with the ExtensionRef the webhook injects, under Istio', async (t) => {
  await scenario(t, 'EPP402', parse(exampleEnvoyFilter()), poolRoute(), (t, m) => {
    t.ok(m.webhook.includes('EPP402'), 'kubectl printed EPP402');
    t.same(statuses(m), recorded('EPP402'));
    t.equal(m.eppRequests, 0);
  });
  const route = JSON.parse((await plane.cp.kubectl(['get', 'httproute', '-n', NS, 'llm-d-inference-scheduling', '-o', 'json'])).stdout);
  const conditions = route.status?.parents?.[0]?.conditions ?? [];
  t.comment(JSON.stringify(conditions.map((c: any) => [c.type, c.status, c.reason, c.message])));
  t.ok(conditions.some((c: any) => c.type === 'ResolvedRefs' && c.status === 'False' && c.reason === 'InvalidFilter'), 'istiod reports ResolvedRefs=False, InvalidFilter, on the HTTPRoute, as EPP402 says');
});

t.test("EPP410, EPP411: a backendRef to an InferencePool of no group, or of the v1alpha2 group, which istiod's translation does not resolve", async (t) => {
  const routeTo = (group: string | undefined) => {
    const route = poolRoute({ inject: false });
    if (group === undefined) delete route.spec.rules[0].backendRefs[0].group;
    else route.spec.rules[0].backendRefs[0].group = group;
    return route;
  };
  const conditions = async () => {
    const route = JSON.parse((await plane.cp.kubectl(['get', 'httproute', '-n', NS, 'llm-d-inference-scheduling', '-o', 'json'])).stdout);
    return (route.status?.parents?.[0]?.conditions ?? []).map((c: any) => [c.type, c.status, c.reason, c.message]);
  };
  // Opted out of injection, as a route on Istio's own InferencePool support is: the validating webhook says it.
  for (const [key, group] of [['EPP410', undefined], ['EPP411', 'inference.networking.x-k8s.io']] as const) {
    await scenario(t, key, parse(exampleEnvoyFilter()), routeTo(group), async (t, m) => {
      t.same(m.webhook, [key], `kubectl printed ${key} for the route`);
      t.same(statuses(m), recorded(key));
      t.equal(m.eppRequests, 0, 'no request reached the EPP');
      const said = await conditions();
      t.comment(JSON.stringify(said));
      t.ok(said.some(([type, status, reason]: string[]) => type === 'ResolvedRefs' && status === 'False' && reason === 'InvalidKind'), 'istiod reports ResolvedRefs=False, InvalidKind, on the HTTPRoute');
      t.ok(said.some(([type, , , message]: string[]) => type === 'ResolvedRefs' && message.includes(`referencing unsupported backendRef: group "${group ?? ''}" kind "InferencePool"`)), 'naming the group it read');
    });
  }
  // Not opted out: the webhook injects the ExtensionRef (the v1alpha2 group counts as a pool; a valid pool beside the
  // group-less ref), and istiod drops the rule for it before it reads a backend (EPP402's 404, not the backend's 500).
  const injected: [string, any, string[]][] = [
    ['EPP411-injected', (() => { const route = poolRoute(); route.spec.rules[0].backendRefs[0].group = 'inference.networking.x-k8s.io'; return route; })(), ['EPP402', 'EPP411']],
    ['EPP410-beside-a-pool', (() => { const route = poolRoute(); const [ref] = route.spec.rules[0].backendRefs; route.spec.rules[0].backendRefs = [{ ...ref, weight: 1 }, { kind: 'InferencePool', name: ref.name, weight: 1 }]; return route; })(), ['EPP402', 'EPP410']],
  ];
  for (const [key, route, codes] of injected) {
    await scenario(t, key, parse(exampleEnvoyFilter()), route, async (t, m) => {
      t.same(m.webhook.toSorted(), codes, `kubectl printed ${codes.join(' and ')}`);
      t.same(statuses(m), recorded(key));
      t.ok(statuses(m).every((status) => status === 404), 'the rule dropped: 404');
      t.equal(m.eppRequests, 0);
    });
  }
});

/** An HTTP_ROUTE MERGE on the pool route (`<namespace>.<HTTPRoute name>.<rule index>`) setting `typed_per_filter_config[key]`. */
function poolRouteOverride(key: string, perRoute: any, routeName = `${NS}.${ROUTE}.0`): any {
  return {
    applyTo: 'HTTP_ROUTE',
    match: { context: 'GATEWAY', routeConfiguration: { vhost: { route: { name: routeName } } } },
    patch: { operation: 'MERGE', value: { typed_per_filter_config: { [key]: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', ...perRoute } } } },
  };
}
const EPP_CLUSTER_OVERRIDE = {
  overrides: {
    grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' }, timeout: '10s' },
    processing_mode: eppProcessingMode(),
  },
};
/** The fixture with its ext_proc filter (and the key of its per-route patch) named `name`. */
function renamed(name: string, edit: (doc: any) => void = () => {}): any {
  return fullDuplex((_f, _c, doc) => {
    doc.spec.configPatches[0].patch.value.name = name;
    const perRoute = doc.spec.configPatches[2].patch.value.typed_per_filter_config;
    perRoute[name] = perRoute['envoy.filters.http.ext_proc'];
    delete perRoute['envoy.filters.http.ext_proc'];
    edit(doc);
  });
}
const eppClusterCarried = (m: Measurement) => Object.keys(m.envoyStats).some((k) => /^cluster\.epp-cluster-\d+\.upstream_rq_total$/.test(k));
const istiodClusterCarried = (m: Measurement) => Object.keys(m.envoyStats).some((k) => k.startsWith('cluster.outbound|9002||') && k.endsWith('.upstream_rq_total'));

t.test('EPP230: the route override that takes the fixture\'s filter back to its own EPP cluster (the fix)', async (t) => {
  const ef = fullDuplex((_f, _c, doc) => doc.spec.configPatches.push(poolRouteOverride('envoy.filters.http.ext_proc', EPP_CLUSTER_OVERRIDE)));
  await scenario(t, 'EPP230-fixed-by-route-override', ef, poolRoute({ inject: false }), (t, m) => {
    t.notOk(m.webhook.includes('EPP230'), 'the fix silences EPP230');
    t.same(statuses(m), recorded('EPP230-fixed-by-route-override'));
    t.ok(eppClusterCarried(m), 'the substituted EPP cluster carried the requests');
    t.notOk(istiodClusterCarried(m), "istiod's EPP cluster carried nothing");
    t.equal(m.eppRequests, 2 * m.answers.length, "istiod's filter and this one (same name) both take the override: the EPP is consulted twice per request");
  });
});

t.test("EPP230: the route override on a named rule's route (istiod names that route after the rule)", async (t) => {
  const ef = fullDuplex((_f, _c, doc) => doc.spec.configPatches.push(poolRouteOverride('envoy.filters.http.ext_proc', EPP_CLUSTER_OVERRIDE, 'models')));
  await scenario(t, 'EPP230-named-rule-override', ef, poolRoute({ inject: false, ruleName: 'models' }), (t, m) => {
    t.ok(m.webhook.includes('EPP230'), 'the webhook cannot see the rule names: EPP230 stays, saying a rule named models would be covered');
    t.same(statuses(m), recorded('EPP230-named-rule-override'));
    t.ok(eppClusterCarried(m), 'the MERGE on route models reached the InferencePool route: the substituted EPP cluster carried the requests');
    t.notOk(istiodClusterCarried(m), "istiod's EPP cluster carried nothing");
    t.equal(m.eppRequests, 2 * m.answers.length, 'as with the override on an unnamed rule: both filters take it');
  });
});

t.test('EPP230: an ext_proc filter of another name on an InferencePool route runs after istiod\'s', async (t) => {
  const filters = async () => (await httpFilters(plane.envoy, plane.envoyPort)).map((f) => f.name).filter((n) => n.includes('ext_proc'));
  await scenario(t, 'EPP230-other-name', renamed('epp.ext_proc'), poolRoute({ inject: false }), (t, m) => {
    t.ok(m.webhook.includes('EPP230'));
    t.same(statuses(m), recorded('EPP230-other-name'));
    t.equal(m.eppRequests, 0, 'no request reached the EPP for a pick');
    t.ok(eppClusterCarried(m), "the EnvoyFilter's filter still opened a stream to the EPP: for the 500's response headers");
  });
  const order = await filters();
  t.comment(JSON.stringify(order));
  t.same(order, ['envoy.filters.http.ext_proc', 'epp.ext_proc'], "istiod's ext_proc filter comes first, the EnvoyFilter's (before the router) after it");
  // istiod's filter turned off on the route, by its ExtProcPerRoute or by Envoy's route FilterConfig.
  const turnedOff: [string, string, any][] = [
    ['EPP230-other-name-istiod-disabled', 'an ExtProcPerRoute disabled: true', { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', disabled: true }],
    ['EPP230-other-name-istiod-filter-config-disabled', 'a route FilterConfig with disabled: true', { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', disabled: true }],
  ];
  for (const [key, how, entry] of turnedOff) {
    const override = poolRouteOverride('envoy.filters.http.ext_proc', {});
    override.patch.value.typed_per_filter_config['envoy.filters.http.ext_proc'] = entry;
    await scenario(t, key, renamed('epp.ext_proc', (doc) => doc.spec.configPatches.push(override)), poolRoute({ inject: false }), (t, m) => {
      t.notOk(m.webhook.includes('EPP230'), `turning istiod's filter off on the route (${how}) silences EPP230`);
      t.same(statuses(m), recorded(key));
      t.ok(eppClusterCarried(m), 'the substituted EPP cluster carried the requests');
      t.notOk(istiodClusterCarried(m), "istiod's EPP cluster carried nothing");
      t.equal(m.eppRequests, m.answers.length, 'the EPP is consulted once per request');
    });
  }
});

/** Runs `body` while a DestinationRule gives istiod's EPP cluster TLS (as GAIE's Istio guide has), then removes it. */
async function withIstiodEppClusterTls(body: () => Promise<void>): Promise<void> {
  const rule = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'epp-tls', namespace: NS },
    spec: { host: `gaie-inference-scheduling-epp.${NS}.svc.cluster.local`, trafficPolicy: { tls: { mode: 'SIMPLE', insecureSkipVerify: true } } },
  };
  const created = await apply(plane, rule);
  if (created.code !== 0) throw new Error(created.stderr);
  try {
    await body();
  } finally {
    await plane.cp.kubectl(['delete', 'destinationrule', '-n', NS, 'epp-tls']);
  }
}

t.test("EPP230: the fixture on an InferencePool route when istiod's EPP cluster has TLS (a DestinationRule, as GAIE's Istio guide has)", async (t) => {
  await withIstiodEppClusterTls(() =>
    scenario(t, 'EPP230-istiod-cluster-tls', fullDuplex(), poolRoute({ inject: false }), (t, m) => {
      t.ok(m.webhook.includes('EPP230'));
      t.same(statuses(m), recorded('EPP230-istiod-cluster-tls'));
      t.notOk(eppClusterCarried(m), 'the substituted EPP cluster carried nothing');
      t.ok(istiodClusterCarried(m), "istiod's EPP cluster (TLS now) carried the calls");
      t.equal(m.eppRequests, 2 * m.answers.length, 'both filters named envoy.filters.http.ext_proc call the EPP: twice per request');
    }),
  );
});

/** The example EnvoyFilter (examples/envoyfilter-placeholder.yaml) with `edit` applied to its route override's `overrides`. */
function exampleWithOverrides(edit: (overrides: any) => void = () => {}): any {
  const doc = parse(exampleEnvoyFilter());
  const route = doc.spec.configPatches.find((p: any) => p.applyTo === 'HTTP_ROUTE');
  edit(route.patch.value.typed_per_filter_config['envoy.filters.http.ext_proc'].overrides);
  return doc;
}
/** Envoy tried the substituted EPP cluster (a connection, whether or not it came up). */
const eppClusterTried = (m: Measurement) => Object.keys(m.envoyStats).some((k) => /^cluster\.epp-cluster-\d+\.upstream_cx_total$/.test(k));
const HEADERS_ONLY = { request_header_mode: 'SEND', response_header_mode: 'SKIP', request_body_mode: 'NONE', response_body_mode: 'NONE' };

/** EPP206's symptom, as kubectl printed it and the client got it: 200 from the Pods on every request, none picked by the EPP. */
function sentNothing(t: Test, m: Measurement): void {
  t.ok(m.webhook.includes('EPP206'), 'kubectl printed EPP206');
  t.same(statuses(m), recorded(m.scenario));
  t.ok(statuses(m).every((s) => s === 200) && served(m), 'the Pods answered');
  t.equal(m.eppRequests, 0, 'the EPP picked none of them');
}

t.test("EPP206: the example's route override without its processing_mode leaves istiod's filter at its own mode, which sends nothing", async (t) => {
  const withoutMode = exampleWithOverrides((o) => delete o.processing_mode);
  await scenario(t, 'EPP206-route-override-without-mode', withoutMode, poolRoute({ inject: false }), (t, m) => {
    sentNothing(t, m);
    t.notOk(eppClusterCarried(m), 'the EPP cluster the override names carried nothing');
  });
  const [istiods, ...more] = (await httpFilters(plane.envoy, plane.envoyPort)).filter((f) => f.name === 'envoy.filters.http.ext_proc');
  t.same(more, [], "istiod's is the only ext_proc filter");
  t.same(istiods?.config?.processing_mode, { request_header_mode: 'SKIP', response_header_mode: 'SKIP' }, "istiod's filter's own mode, as Envoy has it: headers SKIP, bodies and trailers unset (NONE, SKIP)");
});

t.test("EPP206: a route override under istiod's key with only failure_mode_allow: false, written as if it added to istiod's", async (t) => {
  // The entry takes the place of istiod's override whole: istiod's filter keeps its own cluster (dummy) and its own
  // mode, which opens no stream, so the failure_mode_allow asked for has nothing to act on.
  const failureModeOnly = exampleWithOverrides((o) => {
    delete o.processing_mode;
    delete o.grpc_service;
  });
  await scenario(t, 'EPP206-route-override-failure-mode-only', failureModeOnly, poolRoute({ inject: false }), (t, m) => {
    sentNothing(t, m);
    t.notOk(istiodClusterCarried(m), "istiod's EPP cluster carried nothing: its override is gone");
    t.equal(stat(m, 'ext_proc.streams_started'), 0, "istiod's filter opened no stream: its own mode sends nothing");
  });
});

t.test("EPP206: the same override on a named rule's route (name: models): istiod names the route after the rule, and the override sends nothing there too", async (t) => {
  const withoutMode = exampleWithOverrides((o) => delete o.processing_mode);
  withoutMode.spec.configPatches.find((p: any) => p.applyTo === 'HTTP_ROUTE').match.routeConfiguration.vhost.route.name = 'models';
  await scenario(t, 'EPP206-named-rule-override-without-mode', withoutMode, poolRoute({ inject: false, ruleName: 'models' }), (t, m) => {
    sentNothing(t, m);
    t.notOk(eppClusterCarried(m), 'the EPP cluster the override names carried nothing');
  });
  const models = (await routesByName()).get('models');
  t.equal(extProcPerFilter(models?.route)?.overrides?.grpc_service?.envoy_grpc?.cluster_name, `epp-cluster-${marker}`, "the override is on the rule's route, named models: it replaced istiod's there");
  t.equal(extProcPerFilter(models?.route)?.overrides?.processing_mode, undefined, 'with no processing_mode');
});

t.test("EPP230: the example's route override on a FailClose pool with the EPP down, with and without failure_mode_allow: false", async (t) => {
  await plane.epp.stop();
  try {
    await scenario(t, 'EPP230-override-fail-closed-epp-down', exampleWithOverrides(), poolRoute({ inject: false }), (t, m) => {
      t.notOk(m.webhook.includes('EPP230'), 'the example is silent');
      t.same(statuses(m), recorded('EPP230-override-fail-closed-epp-down'));
      t.ok(statuses(m).every((s) => s === 500), 'no request gets past the down EPP');
      t.ok(eppClusterTried(m), 'istiod\'s filter called the substituted EPP cluster');
      t.equal(stat(m, 'ext_proc.failure_mode_allowed'), 0, 'nothing failed open');
    });
    // Annotated with the FailClose pool, so that EPP113 is asked too: the route takes istiod's filter-level true.
    const withPool = (doc: any) => ((doc.metadata.annotations = { 'epp-webhook.io/inference-pool': 'gaie-inference-scheduling' }), doc);
    const unset = withPool(exampleWithOverrides((o) => delete o.failure_mode_allow));
    await scenario(t, 'EPP230-override-unset-epp-down', unset, poolRoute({ inject: false }), (t, m) => {
      t.notOk(m.webhook.includes('EPP230'), "silent: the override names the EPP cluster, replacing istiod's");
      t.ok(m.webhook.includes('EPP113'), "kubectl printed EPP113: the FailClose pool's route fails open on a timeout, or with header-only modes (below)");
      t.same(statuses(m), recorded('EPP230-override-unset-epp-down'));
      t.ok(eppClusterTried(m), 'istiod\'s filter called the substituted EPP cluster');
      t.equal(stat(m, 'ext_proc.failure_mode_allowed'), 0, 'FULL_DUPLEX_STREAMED: the filter-level true did not let the request past a down EPP');
    });
    const unsetHeadersOnly = withPool(
      exampleWithOverrides((o) => {
        delete o.failure_mode_allow;
        o.processing_mode = { ...HEADERS_ONLY };
      }),
    );
    await scenario(t, 'EPP230-override-unset-headers-only-epp-down', unsetHeadersOnly, poolRoute({ inject: false }), (t, m) => {
      t.notOk(m.webhook.includes('EPP230'), 'silent, as without failure_mode_allow in FULL_DUPLEX_STREAMED');
      t.ok(m.webhook.includes('EPP113'), 'kubectl printed EPP113, whose symptom this is');
      t.same(statuses(m), recorded('EPP230-override-unset-headers-only-epp-down'));
      t.ok(eppClusterTried(m), 'istiod\'s filter called the substituted EPP cluster');
      t.equal(stat(m, 'ext_proc.failure_mode_allowed'), m.answers.length, "istiod's filter-level failure_mode_allow: true applied: every request failed open");
    });
    const falseHeadersOnly = withPool(exampleWithOverrides((o) => (o.processing_mode = { ...HEADERS_ONLY })));
    await scenario(t, 'EPP230-override-fail-closed-headers-only-epp-down', falseHeadersOnly, poolRoute({ inject: false }), (t, m) => {
      t.notOk(m.webhook.includes('EPP230'), 'silent');
      t.notOk(m.webhook.includes('EPP113'), 'EPP113 silent: the override fails closed, as the pool asks');
      t.same(statuses(m), recorded('EPP230-override-fail-closed-headers-only-epp-down'));
      t.ok(eppClusterTried(m), 'istiod\'s filter called the substituted EPP cluster');
      t.equal(stat(m, 'ext_proc.failure_mode_allowed'), 0, 'the override\'s false held');
    });
  } finally {
    await plane.restartEpp({ secureServing: true });
  }
});

t.test("EPP230: a route override under istiod's key that names no grpc_service, beside the EnvoyFilter's own filter", async (t) => {
  const modeOnly = (failClosed: boolean) => ({ overrides: { processing_mode: eppProcessingMode(), ...(failClosed ? { failure_mode_allow: false } : {}) } });
  const withOverride = fullDuplex((_f, _c, doc) => doc.spec.configPatches.push(poolRouteOverride('envoy.filters.http.ext_proc', modeOnly(false))));
  await scenario(t, 'EPP230-override-without-grpc-service', withOverride, poolRoute({ inject: false }), (t, m) => {
    t.notOk(m.webhook.includes('EPP230'), "EPP230 is silent: the override replaces istiod's and the request goes through");
    t.same(statuses(m), recorded('EPP230-override-without-grpc-service'));
    t.ok(served(m), 'the Pods answered');
    t.notOk(istiodClusterCarried(m), "istiod's EPP cluster carried nothing: its override is gone");
    t.ok(eppClusterCarried(m), "the EnvoyFilter's filter called its own EPP cluster");
    t.equal(m.eppRequests, m.answers.length, 'the EPP consulted once per request');
    t.equal(stat(m, 'ext_proc.failure_mode_allowed'), m.answers.length, "istiod's filter, left with its own cluster, failed open on every request");
  });
  const [istiods, own] = (await httpFilters(plane.envoy, plane.envoyPort)).filter((f) => f.name === 'envoy.filters.http.ext_proc');
  const istiodCluster = istiods?.config?.grpc_service?.envoy_grpc?.cluster_name;
  t.comment(JSON.stringify({ istiodCluster, istiodFailureModeAllow: istiods?.config?.failure_mode_allow, own: own?.config?.grpc_service?.envoy_grpc?.cluster_name }));
  t.equal(istiodCluster, 'dummy', "istiod's filter (the first of the two of that name) names cluster dummy of its own");
  t.equal(istiods?.config?.failure_mode_allow, true, 'and fails open at its own level');
  t.notOk((await clusterNames(plane.envoy)).includes('dummy'), 'Envoy has no cluster dummy');

  const failClosed = fullDuplex((_f, _c, doc) => doc.spec.configPatches.push(poolRouteOverride('envoy.filters.http.ext_proc', modeOnly(true))));
  await scenario(t, 'EPP230-override-without-grpc-service-fail-closed', failClosed, poolRoute({ inject: false }), (t, m) => {
    failedClosedOnIstiodsDummy(t, m, 'EPP230-override-without-grpc-service-fail-closed');
    t.equal(stat(m, 'ext_proc.failure_mode_allowed'), 0);
  });
  const otherName = renamed('epp.ext_proc', (doc) => doc.spec.configPatches.push(poolRouteOverride('envoy.filters.http.ext_proc', modeOnly(true))));
  await scenario(t, 'EPP230-other-name-override-without-grpc-service-fail-closed', otherName, poolRoute({ inject: false }), (t, m) =>
    failedClosedOnIstiodsDummy(t, m, 'EPP230-other-name-override-without-grpc-service-fail-closed'),
  );
});

/** istiod's filter, on its missing cluster and forbidden to fail open, broke every request; the EnvoyFilter's own filter saw only the 500. */
function failedClosedOnIstiodsDummy(t: Test, m: Measurement, id: string): void {
  t.ok(m.webhook.includes('EPP230'), 'kubectl printed EPP230');
  t.same(statuses(m), recorded(id));
  t.ok(statuses(m).every((s) => s === 500));
  t.equal(m.eppRequests, 0, 'no request reached the EPP for a pick');
  t.ok(eppClusterCarried(m), "the EnvoyFilter's filter still opened a stream to the EPP: for the 500's response headers");
  t.equal(stat(m, 'ext_proc.stream_msgs_sent'), m.answers.length, "one message per request on it (istiod's stream never opened)");
}

t.test("EPP230: an EnvoyFilter carrying only the route override under istiod's key, without grpc_service", async (t) => {
  // The example with its override's grpc_service taken out: no ext_proc filter of the EnvoyFilter's own, so istiod's
  // filter is the only one, left with its own cluster dummy (Envoy has none).
  const failOpen = exampleWithOverrides((o) => {
    delete o.grpc_service;
    delete o.failure_mode_allow;
  });
  await scenario(t, 'EPP230-override-only-without-grpc-service', failOpen, poolRoute({ inject: false }), (t, m) => {
    t.ok(m.webhook.includes('EPP230'), 'kubectl printed EPP230');
    t.same(statuses(m), recorded('EPP230-override-only-without-grpc-service'));
    t.ok(statuses(m).every((s) => s === 200));
    t.equal(m.eppRequests, 0, 'the EPP picked none of them');
    t.equal(stat(m, 'ext_proc.failure_mode_allowed'), m.answers.length, "istiod's filter failed open on every request");
    t.notOk(istiodClusterCarried(m), "istiod's EPP cluster carried nothing: its override is gone");
  });
  const failClosed = exampleWithOverrides((o) => delete o.grpc_service);
  await scenario(t, 'EPP230-override-only-without-grpc-service-fail-closed', failClosed, poolRoute({ inject: false }), (t, m) => {
    t.ok(m.webhook.includes('EPP230'), 'kubectl printed EPP230');
    t.same(statuses(m), recorded('EPP230-override-only-without-grpc-service-fail-closed'));
    t.ok(statuses(m).every((s) => s === 500));
    t.equal(m.eppRequests, 0, 'the EPP picked none of them');
    t.equal(stat(m, 'ext_proc.failure_mode_allowed'), 0);
  });
});

/** A second HTTPRoute on the gateway: /v1/chat (longer than the pool route's /v1) to the plain Service of the model Pods. */
const PLAIN_CHAT = 'plain-chat';
const PLAIN_CHAT_ROUTE = `${NS}.${PLAIN_CHAT}.0`;
function plainChatRoute(): any {
  const route = plainRoute();
  route.metadata.name = PLAIN_CHAT;
  route.spec.rules[0].matches[0].path.value = '/v1/chat';
  return route;
}
/** A VIRTUAL_HOST MERGE setting typed_per_filter_config["envoy.filters.http.ext_proc"] on every virtual host of the gateway. */
function virtualHostOverride(perRoute: any): any {
  return {
    applyTo: 'VIRTUAL_HOST',
    match: { context: 'GATEWAY' },
    patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', ...perRoute } } } },
  };
}
/** The routes Envoy has, by name, each with the per-filter config of its virtual host beside its own. */
async function routesByName(): Promise<Map<string, { vhost: any; route: any }>> {
  const routes = new Map<string, { vhost: any; route: any }>();
  for (const config of await routeConfig(plane.envoy)) {
    for (const vhost of config?.virtual_hosts ?? []) for (const route of vhost.routes ?? []) routes.set(route.name, { vhost, route });
  }
  return routes;
}
const extProcPerFilter = (holder: any) => holder?.typed_per_filter_config?.['envoy.filters.http.ext_proc'];

/** `value` as JSON with its object keys sorted: Envoy's config dump writes fields in field-number order, not as patched. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));

/**
 * Applies `envoyFilter` with the pool route and the plain /v1/chat route on the same gateway, waits until Envoy's
 * route config holds the virtual host's entry (with the renamed EPP cluster) and the pool route's override as
 * expected, then measures each: `${key}-pool-route` and `${key}-plain-route`.
 */
async function measureVirtualHostRoutes(
  t: Test,
  key: string,
  envoyFilter: any,
  poolOverride: 'this EnvoyFilter' | 'istiod',
  plainBody?: unknown,
): Promise<{ webhook: string[]; onPool: Measurement; onPlain: Measurement }> {
  const webhook = await setUp(envoyFilter, poolRoute({ inject: false }));
  const vhostOverride = envoyFilter.spec.configPatches.find((p: any) => p.applyTo === 'VIRTUAL_HOST').patch.value.typed_per_filter_config['envoy.filters.http.ext_proc'];
  // setUp renamed epp-cluster in the applied EnvoyFilter (this marker): the virtual host's entry names the new one.
  const applied = JSON.parse(JSON.stringify(vhostOverride.overrides).replaceAll('epp-cluster', `epp-cluster-${marker}`));
  const routes = await waitFor(
    'both routes, under a virtual host carrying the override',
    async () => {
      const found = await routesByName();
      const pool = found.get(`${NS}.${ROUTE}.0`);
      const plain = found.get(PLAIN_CHAT_ROUTE);
      // This scenario's push, not the last one's: the virtual host's entry as applied, the pool route's override as expected.
      const sameOverride = canonical(extProcPerFilter(plain?.vhost)?.overrides) === canonical(applied);
      const poolCluster: string | undefined = extProcPerFilter(pool?.route)?.overrides?.grpc_service?.envoy_grpc?.cluster_name;
      const poolOverridden = poolOverride === 'istiod' ? poolCluster?.startsWith('outbound|9002||') : poolCluster === `epp-cluster-${marker}`;
      return pool && plain && sameOverride && poolOverridden ? { pool, plain } : undefined;
    },
    30_000,
  );
  t.comment(JSON.stringify({ vhost: extProcPerFilter(routes.plain.vhost), pool: extProcPerFilter(routes.pool.route), plain: extProcPerFilter(routes.plain.route) ?? null }));
  t.equal(extProcPerFilter(routes.plain.route), undefined, "the plain route has no override of its own: only the virtual host's");
  t.same(extProcPerFilter(routes.pool.vhost)?.overrides?.grpc_service, extProcPerFilter(routes.plain.vhost)?.overrides?.grpc_service, "the pool route's virtual host carries the same entry");

  const onPool = await measure(plane, `${key}-pool-route`, webhook);
  const onPlain = await measure(plane, `${key}-plain-route`, webhook, 3, { path: '/v1/chat/completions', body: plainBody });
  for (const m of [onPool, onPlain]) {
    measured[m.scenario] = m;
    t.comment(JSON.stringify({ scenario: m.scenario, webhook: m.webhook, answers: m.answers, eppRequests: m.eppRequests }));
    t.comment(JSON.stringify(m.envoyStats));
    t.ok(symptoms.scenarios[m.scenario], `${m.scenario} has a recorded symptom in measured-symptoms.json`);
    t.same(statuses(m), recorded(m.scenario), `${m.scenario}: the recorded statuses`);
  }
  return { webhook, onPool, onPlain };
}

/** A VIRTUAL_HOST override without grpc_service, measured on the pool route and on the plain /v1/chat route. */
async function virtualHostScenario(
  parent: Test,
  key: string,
  envoyFilter: any,
  expected: { poolOverride: 'this EnvoyFilter' | 'istiod'; poolEppPerRequest: number; plainFailsClosed: boolean },
): Promise<void> {
  await parent.test(`${key}: ${symptoms.scenarios[`${key}-plain-route`]?.symptom ?? ''}`, async (t) => {
    const { webhook, onPool, onPlain } = await measureVirtualHostRoutes(t, key, envoyFilter, expected.poolOverride);
    if (expected.plainFailsClosed) t.ok(webhook.includes('EPP230'), 'kubectl printed EPP230');
    else t.notOk(webhook.includes('EPP230'), 'EPP230 is silent: nothing breaks');
    t.ok(statuses(onPool).every((s) => s === 200) && served(onPool), 'the pool route: the Pods answered');
    t.equal(onPool.eppRequests, expected.poolEppPerRequest * onPool.answers.length, `the pool route: the EPP consulted ${expected.poolEppPerRequest === 1 ? 'once' : 'twice'} per request, as without the virtual host's override`);
    t.equal(onPlain.eppRequests, 0, 'the plain route: no request reached the EPP for a pick');
    t.ok(stat(onPlain, 'ext_proc.streams_failed') >= onPlain.answers.length, "the plain route: istiod's filter, which sends nothing there without the virtual host's override, tried a stream per request, and it failed");
    if (expected.plainFailsClosed) {
      t.ok(statuses(onPlain).every((s) => s === 500), "the plain route: 500 on every request (istiod's filter on its missing cluster dummy, may not fail open)");
      t.equal(stat(onPlain, 'ext_proc.failure_mode_allowed'), 0);
    } else {
      t.ok(statuses(onPlain).every((s) => s === 200) && served(onPlain), 'the plain route: the Pods answered');
      t.equal(stat(onPlain, 'ext_proc.failure_mode_allowed'), onPlain.answers.length, "istiod's filter-level failure_mode_allow: true: every request failed open");
    }
  });
}

t.test("EPP230: a VIRTUAL_HOST override under istiod's key without grpc_service: the gateway's routes that do not go to an InferencePool", async (t) => {
  // A VIRTUAL_HOST MERGE turning istiod's filter on for the whole virtual host, naming no cluster. A second HTTPRoute
  // of the same gateway sends /v1/chat to the plain Service: no InferencePool, so istiod gives that route no override.
  const modeOnly = (failClosed: boolean) => virtualHostOverride({ overrides: { processing_mode: eppProcessingMode(), ...(failClosed ? { failure_mode_allow: false } : {}) } });
  /** The example (its HTTP_ROUTE override takes istiod's filter to epp-cluster on the pool route) plus the virtual host override. */
  const example = (failClosed: boolean) => {
    const doc = parse(exampleEnvoyFilter());
    doc.spec.configPatches.push(modeOnly(failClosed));
    return doc;
  };
  const created = await apply(plane, plainChatRoute());
  if (created.code !== 0) throw new Error(created.stderr);
  try {
    await virtualHostScenario(t, 'EPP230-virtual-host-override-fail-closed', example(true), { poolOverride: 'this EnvoyFilter', poolEppPerRequest: 1, plainFailsClosed: true });
    await virtualHostScenario(t, 'EPP230-virtual-host-override-unset', example(false), { poolOverride: 'this EnvoyFilter', poolEppPerRequest: 1, plainFailsClosed: false });

    // The fixture's own filter (same name as istiod's) with the route override that takes both to epp-cluster.
    const besideFilter = fullDuplex((_f, _c, doc) => doc.spec.configPatches.push(poolRouteOverride('envoy.filters.http.ext_proc', EPP_CLUSTER_OVERRIDE), modeOnly(true)));
    await virtualHostScenario(t, 'EPP230-virtual-host-override-beside-filter-fail-closed', besideFilter, { poolOverride: 'this EnvoyFilter', poolEppPerRequest: 2, plainFailsClosed: true });

    // Only the virtual host override (and the example's cluster, unused): the pool route keeps istiod's own override,
    // which works here once a DestinationRule gives istiod's EPP cluster TLS (as GAIE's Istio guide has).
    await withIstiodEppClusterTls(async () => {
      const only = parse(exampleEnvoyFilter());
      only.spec.configPatches = only.spec.configPatches.filter((p: any) => p.applyTo !== 'HTTP_ROUTE');
      only.spec.configPatches.push(modeOnly(true));
      await virtualHostScenario(t, 'EPP230-virtual-host-override-only-fail-closed', only, { poolOverride: 'istiod', poolEppPerRequest: 1, plainFailsClosed: true });
    });
  } finally {
    await plane.cp.kubectl(['delete', 'httproute', '-n', NS, PLAIN_CHAT, '--ignore-not-found']);
    await waitFor('the plain route gone from Envoy', async () => ((await routesByName()).has(PLAIN_CHAT_ROUTE) ? undefined : true), 30_000);
  }
});

t.test("EPP230: the example's route override written as a VIRTUAL_HOST MERGE naming the EPP cluster", async (t) => {
  // examples/envoyfilter-placeholder.yaml with its HTTP_ROUTE MERGE turned into a VIRTUAL_HOST MERGE of the same entry
  // (epp-cluster, the example's processing_mode and failure_mode_allow: false), matching every virtual host. Envoy takes
  // the most specific per-filter config (route over virtual host): istiod's own override on the InferencePool route.
  const asVirtualHost = () => {
    const doc = parse(exampleEnvoyFilter());
    const patch = doc.spec.configPatches.find((p: any) => p.applyTo === 'HTTP_ROUTE');
    patch.applyTo = 'VIRTUAL_HOST';
    delete patch.match.routeConfiguration.vhost.route;
    return doc;
  };
  // A chat completion the EPP can read (the default body is a completions one: the EPP answers 400 to it on /v1/chat).
  const chat = { model: 'sim', messages: [{ role: 'user', content: 'Say hi' }], max_tokens: 5 };
  const onPlainRoute = (t: Test, m: Measurement) => {
    t.ok(eppClusterCarried(m), 'the plain route: the EPP cluster carried the calls (the entry reached the route without an override)');
    t.notOk(istiodClusterCarried(m), "the plain route: istiod's EPP cluster carried nothing");
    t.ok(statuses(m).every((s) => s === 200) && served(m), 'the plain route: the Pods answered');
    t.equal(m.eppRequests, m.answers.length, 'the plain route: the EPP consulted once per request');
  };
  const created = await apply(plane, plainChatRoute());
  if (created.code !== 0) throw new Error(created.stderr);
  try {
    await t.test('EPP230-virtual-host-epp-cluster: the EPP serving TLS, istiod\'s cluster plaintext', async (t) => {
      const { webhook, onPool, onPlain } = await measureVirtualHostRoutes(t, 'EPP230-virtual-host-epp-cluster', asVirtualHost(), 'istiod', chat);
      t.ok(webhook.includes('EPP230'), 'kubectl printed EPP230');
      t.ok(statuses(onPool).every((s) => s === 500), "the pool route: 500 on every request, as with no override (istiod's plaintext cluster against the EPP's TLS)");
      t.notOk(eppClusterCarried(onPool), 'the pool route: the EPP cluster carried nothing');
      t.ok(istiodClusterCarried(onPool), "the pool route: istiod's EPP cluster carried the calls");
      t.equal(onPool.eppRequests, 0, 'the pool route: no request reached the EPP for a pick');
      onPlainRoute(t, onPlain);
    });
    await withIstiodEppClusterTls(async () => {
      await t.test("EPP230-virtual-host-epp-cluster-istiod-tls: with a DestinationRule giving istiod's EPP cluster TLS", async (t) => {
        const { webhook, onPool, onPlain } = await measureVirtualHostRoutes(t, 'EPP230-virtual-host-epp-cluster-istiod-tls', asVirtualHost(), 'istiod', chat);
        t.ok(webhook.includes('EPP230'), 'kubectl printed EPP230');
        t.ok(statuses(onPool).every((s) => s === 200) && served(onPool), 'the pool route: the Pods answered');
        t.notOk(eppClusterCarried(onPool), 'the pool route: the EPP cluster carried nothing');
        t.ok(istiodClusterCarried(onPool), "the pool route: istiod's EPP cluster carried the calls");
        t.equal(onPool.eppRequests, onPool.answers.length, "the pool route: the EPP consulted once per request, through istiod's cluster");
        onPlainRoute(t, onPlain);
      });
    });
  } finally {
    await plane.cp.kubectl(['delete', 'httproute', '-n', NS, PLAIN_CHAT, '--ignore-not-found']);
    await waitFor('the plain route gone from Envoy', async () => ((await routesByName()).has(PLAIN_CHAT_ROUTE) ? undefined : true), 30_000);
  }
});

const HCM = 'envoy.filters.network.http_connection_manager';
/**
 * An EnvoyFilter of the gateway ordered by `priority` (istiod applies EnvoyFilters by priority, then age): a
 * header_mutation filter named `name` inserted before the router, which adds response header `name`, and `extra` patches.
 */
function markerEnvoyFilter(name: string, priority: number, extra: any[] = []): any {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name, namespace: NS },
    spec: {
      priority,
      workloadSelector: { labels: { 'gateway.networking.k8s.io/gateway-name': 'infra-inference-scheduling-inference-gateway' } },
      configPatches: [
        {
          applyTo: 'HTTP_FILTER',
          match: { context: 'GATEWAY', listener: { filterChain: { filter: { name: HCM, subFilter: { name: 'envoy.filters.http.router' } } } } },
          patch: {
            operation: 'INSERT_BEFORE',
            value: {
              name,
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation',
                mutations: { response_mutations: [{ append: { header: { key: name, value: 'applied' } } }] },
              },
            },
          },
        },
        ...extra,
      ],
    },
  };
}
/** An HTTP_FILTER MERGE into istiod's InferencePool filter (subFilter envoy.filters.http.ext_proc) writing `typedConfig`. */
function mergeIntoIstiodFilter(typedConfig: any): any {
  return {
    applyTo: 'HTTP_FILTER',
    match: { context: 'GATEWAY', listener: { filterChain: { filter: { name: HCM, subFilter: { name: 'envoy.filters.http.ext_proc' } } } } },
    patch: { operation: 'MERGE', value: { name: 'envoy.filters.http.ext_proc', typed_config: typedConfig } },
  };
}
const EXTERNAL_PROCESSOR = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor';

t.test("EPP223: a MERGE into istiod's filter whose typed_config is a TypedStruct, beside EnvoyFilters ordered before and after it", async (t) => {
  // Two other EnvoyFilters of the gateway: one ordered before the scenario's (priority -1), one after (priority 1),
  // each inserting a recognizable HTTP filter; the later one also merges into the listener and its connection manager.
  const before = markerEnvoyFilter('x-marker-before', -1);
  const after = markerEnvoyFilter('x-marker-after', 1, [
    { applyTo: 'LISTENER', match: { context: 'GATEWAY' }, patch: { operation: 'MERGE', value: { per_connection_buffer_limit_bytes: 1048577 } } },
    {
      applyTo: 'NETWORK_FILTER',
      match: { context: 'GATEWAY', listener: { filterChain: { filter: { name: HCM } } } },
      patch: { operation: 'MERGE', value: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', server_name: 'x-marker-after' } } },
    },
  ]);
  const filterNames = async () => (await httpFilters(plane.envoy, plane.envoyPort)).map((f) => f.name);
  try {
    for (const marker of [before, after]) {
      const applied = await apply(plane, marker);
      if (applied.code !== 0) throw new Error(applied.stderr);
    }
    await waitFor('both marker filters in the gateway listener', async () => ((await filterNames()).includes('x-marker-before') && (await filterNames()).includes('x-marker-after') ? true : undefined), 30_000);
    t.pass('before: both EnvoyFilters\' filters are in the gateway listener');

    // The example (its route override and cluster) plus a MERGE into istiod's filter written as a TypedStruct.
    const ef = parse(exampleEnvoyFilter());
    ef.spec.configPatches.push(mergeIntoIstiodFilter({ '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: EXTERNAL_PROCESSOR, value: { message_timeout: '5s' } }));
    const panics = () => plane.istiod.log().split('\n').filter((line) => line.includes('listeners patch caused panic, so the patches did not take effect')).length;
    const panicsBefore = panics();
    await scenario(t, 'EPP223-typed-struct-merge', ef, poolRoute({ inject: false }), (t, m) => {
      t.ok(m.webhook.includes('EPP223'), 'kubectl printed EPP223 (relaxed to a warning to measure)');
      t.same(statuses(m), recorded('EPP223-typed-struct-merge'));
      t.ok(served(m), 'the Pods answered');
      t.ok(eppClusterCarried(m), "the route override (a route patch) and the EPP cluster (a cluster patch) took effect: istiod's filter called the EPP cluster");
      t.equal(m.eppRequests, m.answers.length, 'the EPP picked for every request');
    });
    t.ok(panics() > panicsBefore, 'istiod logged "listeners patch caused panic, so the patches did not take effect"');
    const names = await filterNames();
    const istiods = (await httpFilters(plane.envoy, plane.envoyPort)).find((f) => f.name === 'envoy.filters.http.ext_proc');
    const listener = await gatewayListener(plane.envoy, plane.envoyPort);
    const manager = await connectionManager(plane.envoy, plane.envoyPort);
    t.comment(JSON.stringify({ names, istiodMessageTimeout: istiods?.config?.message_timeout, bufferLimit: listener?.per_connection_buffer_limit_bytes, serverName: manager?.server_name }));
    t.notOk(names.includes('x-marker-before'), 'the filter of the EnvoyFilter ordered before is gone from the listener');
    t.notOk(names.includes('x-marker-after'), 'the filter of the EnvoyFilter ordered after is gone too');
    t.not(istiods?.config?.message_timeout, '5s', "istiod's filter did not take the TypedStruct's fields");
    t.equal(istiods?.config?.message_timeout, '1000s', "istiod's own message_timeout, which EPP202 names for MERGEs into its filter that set none");
    t.equal(listener?.per_connection_buffer_limit_bytes, 1048577, "the later EnvoyFilter's LISTENER MERGE took effect");
    t.equal(manager?.server_name, 'x-marker-after', "the later EnvoyFilter's NETWORK_FILTER MERGE into the connection manager took effect");
  } finally {
    await removeEnvoyFilter('epp-ext-proc');
    await plane.cp.kubectl(['delete', 'envoyfilter', '-n', NS, before.metadata.name, after.metadata.name, '--ignore-not-found']);
  }
});

t.test("EPP230: a MERGE into istiod's filter setting its processing fields, beside the route override, with and without grpc_service", async (t) => {
  // The example (route override naming epp-cluster, the cluster) plus a MERGE into istiod's filter that sets its
  // processing_mode and message_timeout but no grpc_service; then the override's grpc_service (and failure_mode_allow) taken out.
  const withMerge = (edit: (overrides: any) => void, merged: any = {}) => {
    const doc = exampleWithOverrides(edit);
    doc.spec.configPatches.push(mergeIntoIstiodFilter({ '@type': EXTERNAL_PROCESSOR, message_timeout: '10s', processing_mode: eppProcessingMode(), ...merged }));
    return doc;
  };
  const istiodsFilter = async () => {
    const filter = (await httpFilters(plane.envoy, plane.envoyPort)).find((f) => f.name === 'envoy.filters.http.ext_proc');
    return { cluster: filter?.config?.grpc_service?.envoy_grpc?.cluster_name, messageTimeout: filter?.config?.message_timeout, failureModeAllow: filter?.config?.failure_mode_allow };
  };
  await scenario(t, 'EPP230-merge-override-with-grpc-service', withMerge(() => {}), poolRoute({ inject: false }), (t, m) => {
    t.notOk(m.webhook.includes('EPP230'), 'silent: the override names the EPP cluster');
    t.same(statuses(m), recorded('EPP230-merge-override-with-grpc-service'));
    t.ok(served(m) && eppClusterCarried(m), "istiod's filter called the EPP cluster, the Pods answered");
    t.equal(m.eppRequests, m.answers.length, 'the EPP once per request');
  });
  const merged = await istiodsFilter();
  t.comment(JSON.stringify(merged));
  t.equal(merged.messageTimeout, '10s', "the MERGE reached istiod's filter");
  t.equal(merged.cluster, 'dummy', "and left it istiod's cluster dummy");

  await scenario(t, 'EPP230-merge-override-without-grpc-service', withMerge((o) => { delete o.grpc_service; delete o.failure_mode_allow; }), poolRoute({ inject: false }), (t, m) => {
    t.ok(m.webhook.includes('EPP230'), 'kubectl printed EPP230');
    t.same(statuses(m), recorded('EPP230-merge-override-without-grpc-service'));
    t.ok(statuses(m).every((s) => s === 200) && served(m), 'the Pods answered');
    t.equal(m.eppRequests, 0, 'the EPP picked none of them');
    t.equal(stat(m, 'ext_proc.failure_mode_allowed'), m.answers.length, "istiod's filter, on dummy, failed open on every request");
  });
  await scenario(t, 'EPP230-merge-override-without-grpc-service-fail-closed', withMerge((o) => delete o.grpc_service), poolRoute({ inject: false }), (t, m) => {
    t.ok(m.webhook.includes('EPP230'), 'kubectl printed EPP230');
    t.same(statuses(m), recorded('EPP230-merge-override-without-grpc-service-fail-closed'));
    t.ok(statuses(m).every((s) => s === 500), '500 on every request');
    t.equal(m.eppRequests, 0, 'the EPP picked none of them');
    t.equal(stat(m, 'ext_proc.failure_mode_allowed'), 0);
  });
  const mergeNamesCluster = withMerge((o) => { delete o.grpc_service; }, { grpc_service: { envoy_grpc: { cluster_name: 'epp-cluster' }, timeout: '10s' } });
  await scenario(t, 'EPP230-merge-grpc-service-override-without', mergeNamesCluster, poolRoute({ inject: false }), (t, m) => {
    t.notOk(m.webhook.includes('EPP230'), "silent: the MERGE gives istiod's filter the EPP cluster");
    t.same(statuses(m), recorded('EPP230-merge-grpc-service-override-without'));
    t.ok(served(m) && eppClusterCarried(m), "istiod's filter called the EPP cluster, the Pods answered");
    t.equal(m.eppRequests, m.answers.length, 'the EPP once per request');
  });
  t.match((await istiodsFilter()).cluster, /^epp-cluster-\d+$/, "istiod's filter names the EPP cluster the MERGE gave it");
  await removeEnvoyFilter('epp-ext-proc');
});

t.test("EPP202: a MERGE of a STREAMED body mode into istiod's filter (a published fix), on the InferencePool route and on the gateway's other route", async (t) => {
  // nirjhar17/llm-d-observability-openshift's MERGE, as published: istiod's filter given the EPP cluster istiod built,
  // headers SEND and request bodies STREAMED, failing open; message_timeout 2 s instead of 30 s. The gateway has a
  // route to the InferencePool (/v1/completions, istiod's route override on it) and one to the plain Service (/v1/chat).
  const doc = parse(exampleEnvoyFilter());
  doc.spec.configPatches = [
    mergeIntoIstiodFilter({
      '@type': EXTERNAL_PROCESSOR,
      grpc_service: { envoy_grpc: { cluster_name: `outbound|${EPP_SERVICE_PORT}||${EPP_SERVICE}.${NS}.svc.cluster.local` }, timeout: '30s' },
      failure_mode_allow: true,
      processing_mode: { request_header_mode: 'SEND', response_header_mode: 'SEND', request_body_mode: 'STREAMED' },
      message_timeout: '2s',
    }),
  ];
  const other = { ...plainRoute(), metadata: { name: 'other-route', namespace: NS } };
  other.spec.rules[0].matches[0].path.value = '/v1/chat';
  let codes: string[] = [];
  const setUpBoth = async () => {
    for (const route of [poolRoute({ inject: false, path: '/v1/completions' }), other]) {
      const routed = await apply(plane, route);
      if (routed.code !== 0) throw new Error(routed.stderr);
    }
    const applied = await applyAndWait(plane, stringify(doc));
    if (applied.code !== 0) throw new Error(applied.stderr);
    await new Promise((r) => setTimeout(r, 1500));
    codes = [...new Set(codesIn(applied.stderr))].sort();
    return codes;
  };
  // istiod's EPP cluster with TLS (as GAIE's Istio guide has it), as the MERGE's author ran it: without it no stream opens.
  try {
    await withIstiodEppClusterTls(async () => {
      await scenario(t, 'EPP202-merge-into-istiods-filter-pool-route', undefined, undefined, (t, m) => {
        t.ok(m.webhook.includes('EPP202'), 'kubectl printed EPP202');
        t.same(statuses(m), recorded('EPP202-merge-into-istiods-filter-pool-route'));
        t.ok(statuses(m).every((s) => s === 200) && served(m), 'the Pods answered');
        t.equal(m.eppRequests, m.answers.length, 'the EPP picked each: istiod\'s route override ran FULL_DUPLEX_STREAMED, not the MERGE\'s STREAMED');
        t.equal(stat(m, 'ext_proc.message_timeouts'), 0, 'no message timed out');
      }, { setUp: setUpBoth, count: 2, timeoutMs: 8000 });
      await scenario(t, 'EPP202-merge-into-istiods-filter-other-route', undefined, undefined, (t, m) => {
        t.ok(m.webhook.includes('EPP202'), 'the same apply');
        t.same(statuses(m), recorded('EPP202-merge-into-istiods-filter-other-route'));
        t.ok(m.answers.every((a) => a.status === 200 && a.ms >= 1900) && served(m), 'each waited message_timeout (2 s), then a Pod answered');
        t.equal(stat(m, 'ext_proc.message_timeouts'), m.answers.length, "the MERGE's STREAMED turned istiod's filter on here, and the EPP answered none in time");
        t.equal(stat(m, 'ext_proc.failure_mode_allowed'), m.answers.length, 'and Envoy let each through without its pick');
      }, { setUp: async () => codes, count: 2, timeoutMs: 8000, path: '/v1/chat/completions' });
    });
  } finally {
    await plane.cp.kubectl(['delete', 'httproute', '-n', NS, 'other-route', '--ignore-not-found']);
    await removeEnvoyFilter('epp-ext-proc');
  }
});

t.test("EPP114: the EPP cluster's port_value is not the InferencePool's endpointPickerRef port", async (t) => {
  // The fixture annotated with the pool (endpointPickerRef port 9002), its cluster at port 9003 (the EPP's gRPC health
  // port in GAIE's charts): the webhook writes the pool EPP's ClusterIP, which serves nothing on 9003.
  const ef = fullDuplex((_f, cluster, doc) => {
    doc.metadata.annotations = { 'epp-webhook.io/inference-pool': 'gaie-inference-scheduling' };
    cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = 9003;
  });
  await scenario(t, 'EPP114-port-not-the-pools', ef, plainRoute(), (t, m) => {
    t.ok(m.webhook.includes('EPP114'), 'kubectl printed EPP114 (relaxed to a warning to measure)');
    t.same(statuses(m), recorded('EPP114-port-not-the-pools'));
    t.ok(statuses(m).every((s) => s === 500), '500 on every request');
    t.equal(m.eppRequests, 0, 'no request reached the EPP');
    t.ok(stat(m, 'upstream_cx_connect_fail') >= m.answers.length, 'every connection to ClusterIP:9003 failed');
    t.equal(stat(m, 'ext_proc.failure_mode_allowed'), 0, 'nothing failed open');
  });
  const cluster = (await dynamicClusters(plane.envoy)).find((c: any) => c?.name === `epp-cluster-${marker}`);
  const address = cluster?.load_assignment?.endpoints?.[0]?.lb_endpoints?.[0]?.endpoint?.address?.socket_address;
  t.comment(JSON.stringify(address));
  t.same(address, { address: await plane.eppClusterIP(), port_value: 9003 }, "Envoy's cluster: the EPP Service's ClusterIP, port 9003");

  const failOpen = structuredClone(ef);
  failOpen.spec.configPatches[0].patch.value.typed_config.failure_mode_allow = true;
  await scenario(t, 'EPP114-port-not-the-pools-fail-open', failOpen, plainRoute(), (t, m) => {
    t.ok(m.webhook.includes('EPP114'), 'kubectl printed EPP114 (relaxed to a warning to measure)');
    t.same(statuses(m), recorded('EPP114-port-not-the-pools-fail-open'));
    t.ok(statuses(m).every((s) => s === 500), '500 on every request: failure_mode_allow does not let it past');
    t.equal(m.eppRequests, 0, 'no request reached the EPP');
    t.equal(stat(m, 'ext_proc.streams_started'), m.answers.length, 'each ext_proc stream started before its connection failed');
    t.equal(stat(m, 'ext_proc.failure_mode_allowed'), 0, 'nothing failed open');
  });
});

t.test('EPP207: allow_mode_override: true with FULL_DUPLEX_STREAMED', async (t) => {
  await scenario(t, 'EPP207-allow-mode-override', fullDuplex((f) => (f.allow_mode_override = true)), plainRoute(), (t, m) => {
    t.ok(m.webhook.includes('EPP207'), 'kubectl printed EPP207');
    t.same(statuses(m), recorded('EPP207-allow-mode-override'));
    t.ok(statuses(m).every((s) => s === 200) && served(m), 'the Pods answered');
    t.equal(m.eppRequests, m.answers.length, 'the EPP picked for every request');
  });
  const own = (await httpFilters(plane.envoy, plane.envoyPort)).find((f) => f.name === 'envoy.filters.http.ext_proc');
  t.equal(own?.config?.allow_mode_override, true, "Envoy's filter has allow_mode_override: true");
});

t.test('EPP211: a per-route override FULL_DUPLEX_STREAMED with trailer modes SKIP', async (t) => {
  // The fixture's filter (FULL_DUPLEX_STREAMED, trailers SEND; message_timeout 2 s, to see a wait end) and an override
  // on the route that keeps the bodies FULL_DUPLEX_STREAMED and skips both trailers.
  const mode = { ...eppProcessingMode(), request_trailer_mode: 'SKIP', response_trailer_mode: 'SKIP' };
  const ef = fullDuplex((f, _c, doc) => {
    f.message_timeout = '2s';
    doc.spec.configPatches.push(poolRouteOverride('envoy.filters.http.ext_proc', { overrides: { processing_mode: mode } }));
  });
  for (const [suffix, body] of Object.entries(BODIES)) {
    const key = `EPP211-per-route-trailers-skip${suffix}`;
    await scenario(
      t,
      key,
      ef,
      plainRoute(),
      (t, m) => {
        t.ok(m.webhook.includes('EPP211'), 'kubectl printed EPP211');
        t.same(statuses(m), recorded(key), 'the recorded statuses');
        t.equal(m.eppRequests, m.answers.length, 'the EPP picked for every request');
        t.equal(stat(m, 'ext_proc.message_timeouts'), 0, 'the EPP answered every message in time');
        if (suffix === '-stream') t.ok(streamedWhole(m), 'every event arrived');
        if (suffix === '-long') t.ok(m.answers.every((a) => a.bytes === LONG_BYTES), 'the whole body');
      },
      { timeoutMs: 8000, body },
    );
  }
  const override = extProcPerFilter((await routesByName()).get(`${NS}.${ROUTE}.0`)?.route);
  t.comment(JSON.stringify(override));
  t.equal(override?.overrides?.processing_mode?.request_trailer_mode, 'SKIP', "Envoy's route carries the override, trailers SKIP");
});

t.test('EPP212: ext_proc fields written in snake_case and lowerCamelCase with different values', async (t) => {
  // Each pair: the snake_case value would break or bypass the EPP (BUFFERED: 504 after message_timeout; fail open),
  // the lowerCamelCase one is the working fixture's.
  const ef = fullDuplex((f) => {
    f.processing_mode.request_body_mode = 'BUFFERED';
    f.processing_mode.requestBodyMode = 'FULL_DUPLEX_STREAMED';
    f.message_timeout = '2s';
    f.messageTimeout = '7s';
    f.failure_mode_allow = true;
    f.failureModeAllow = false;
  });
  await scenario(
    t,
    'EPP212-snake-and-camel',
    ef,
    plainRoute(),
    (t, m) => {
      t.ok(m.webhook.includes('EPP212'), 'kubectl printed EPP212');
      t.notOk(m.webhook.includes('EPP202') || m.webhook.includes('EPP205'), 'and neither EPP202 nor EPP205: the webhook judged the lowerCamelCase values');
      t.same(statuses(m), recorded('EPP212-snake-and-camel'));
      t.equal(m.eppRequests, m.answers.length, 'the EPP picked for every request');
    },
    { timeoutMs: 8000 },
  );
  const own = (await httpFilters(plane.envoy, plane.envoyPort)).find((f) => f.name === 'envoy.filters.http.ext_proc')?.config;
  t.comment(JSON.stringify({ processing_mode: own?.processing_mode, message_timeout: own?.message_timeout, failure_mode_allow: own?.failure_mode_allow }));
  t.equal(own?.processing_mode?.request_body_mode, 'FULL_DUPLEX_STREAMED', "Envoy got requestBodyMode's value");
  t.equal(own?.message_timeout, '7s', "Envoy got messageTimeout's value");
  t.notOk(own?.failure_mode_allow, "Envoy got failureModeAllow's value (false)");
});

/** The fixture's EnvoyFilter without its cluster, and (unless `owner` is false) the cluster as an EnvoyFilter of its own. */
const CLUSTER_OWNER = 'epp-cluster-owner';
function splitCluster(edit: (filter: any) => void = () => {}): { main: any; owner: any } {
  let clusterPatch: any;
  const main = fullDuplex((f, _c, doc) => {
    edit(f);
    [clusterPatch] = doc.spec.configPatches.splice(1, 1);
  });
  const owner = { apiVersion: main.apiVersion, kind: main.kind, metadata: { name: CLUSTER_OWNER, namespace: NS }, spec: { workloadSelector: main.spec.workloadSelector, configPatches: [clusterPatch] } };
  return { main, owner };
}

/**
 * Applies the route and `main` (and `owner` first, if given) with a fresh cluster name, and waits until Envoy's
 * ext_proc filter names it (and it has the cluster, or has not). Returns the codes kubectl printed for the route and `main`.
 */
async function setUpSplit(main: any, owner: any | undefined): Promise<string[]> {
  const name = `epp-cluster-${++marker}`;
  const routed = await apply(plane, plainRoute());
  if (routed.code !== 0) throw new Error(routed.stderr);
  if (owner) {
    const applied = await apply(plane, stringify(owner).replaceAll('epp-cluster', name).replaceAll(`${name}-owner`, CLUSTER_OWNER));
    if (applied.code !== 0) throw new Error(applied.stderr);
    t.comment(`${CLUSTER_OWNER}: ${JSON.stringify(codesIn(applied.stderr))}`);
  } else {
    await plane.cp.kubectl(['delete', 'envoyfilter', '-n', NS, CLUSTER_OWNER, '--ignore-not-found']);
  }
  const before = await xdsCounters(plane.envoy);
  const applied = await apply(plane, stringify(main).replaceAll('epp-cluster', name));
  if (applied.code !== 0) throw new Error(applied.stderr);
  // Without a cluster of its own there may be no CDS change to wait for: the listener's.
  await waitFor(
    `Envoy's ext_proc filter to name ${name}${owner ? ', and the cluster' : ''}`,
    async () => {
      const now = await xdsCounters(plane.envoy);
      if (now.ldsSuccess + now.ldsRejected <= before.ldsSuccess + before.ldsRejected) return undefined;
      const filter = (await httpFilters(plane.envoy, plane.envoyPort)).find((f) => f.name === 'envoy.filters.http.ext_proc');
      const has = (await clusterNames(plane.envoy)).includes(name);
      return filter?.config?.grpc_service?.envoy_grpc?.cluster_name === name && has === Boolean(owner) ? true : undefined;
    },
    30_000,
    200,
  );
  await new Promise((r) => setTimeout(r, 1500));
  return [...new Set([...codesIn(routed.stderr), ...codesIn(applied.stderr)])].sort();
}

t.test('EPP305: the ext_proc cluster not defined in this EnvoyFilter: defined nowhere, or by another EnvoyFilter', async (t) => {
  try {
    const nowhere = splitCluster();
    await scenario(t, 'EPP305-cluster-nowhere', nowhere.main, undefined, (t, m) => {
      t.ok(m.webhook.includes('EPP305'), 'kubectl printed EPP305');
      t.same(statuses(m), recorded('EPP305-cluster-nowhere'));
      t.ok(statuses(m).every((s) => s === 500), '500 on every request');
      t.equal(m.eppRequests, 0, 'no request reached the EPP');
      t.ok(stat(m, 'ext_proc.streams_failed') >= m.answers.length, 'every ext_proc stream failed');
      t.equal(stat(m, 'ext_proc.streams_started'), 0, 'none opened');
    }, { setUp: () => setUpSplit(nowhere.main, undefined) });

    const failOpen = splitCluster((f) => (f.failure_mode_allow = true));
    await scenario(t, 'EPP305-cluster-nowhere-fail-open', failOpen.main, undefined, (t, m) => {
      t.ok(m.webhook.includes('EPP305'), 'kubectl printed EPP305');
      t.same(statuses(m), recorded('EPP305-cluster-nowhere-fail-open'));
      t.ok(statuses(m).every((s) => s === 200) && served(m), 'the Pods answered, unpicked');
      t.equal(m.eppRequests, 0, 'no request reached the EPP');
      t.equal(stat(m, 'ext_proc.failure_mode_allowed'), m.answers.length, 'every request failed open');
    }, { setUp: () => setUpSplit(failOpen.main, undefined) });

    const elsewhere = splitCluster();
    await scenario(t, 'EPP305-cluster-in-another-envoyfilter', elsewhere.main, undefined, (t, m) => {
      t.ok(m.webhook.includes('EPP305'), 'kubectl printed EPP305: the webhook does not look into the other EnvoyFilter');
      t.same(statuses(m), recorded('EPP305-cluster-in-another-envoyfilter'));
      t.ok(statuses(m).every((s) => s === 200) && served(m), 'the Pods answered');
      t.equal(m.eppRequests, m.answers.length, 'the EPP picked for every request');
      t.ok(eppClusterCarried(m), "the cluster the other EnvoyFilter adds carried the calls");
    }, { setUp: () => setUpSplit(elsewhere.main, elsewhere.owner) });
  } finally {
    await plane.cp.kubectl(['delete', 'envoyfilter', '-n', NS, CLUSTER_OWNER, '--ignore-not-found']);
  }
});

/** The endpoints (ip:port) the EPP logged as its picks ("Request handled ... endpoint"), in order. */
const eppPicks = () => [...plane.epp.log().matchAll(/"Request handled".*"endpoint":"([^"]*)"/g)].map((m) => m[1]);
const podOf = (endpoint: string) => plane.models.find((m) => `${m.host}:${m.port}` === endpoint)?.name;

t.test('EPP233: observability_mode: true on the ext_proc filter that consults the EPP', async (t) => {
  // One Pod queueing 50 requests: the EPP's queue scorer picks the other for every request, so an answer from the
  // busy Pod is one Envoy routed without the EPP's pick.
  const [busy, idle] = plane.models;
  let picksBefore = 0;
  const busyPod = async () => {
    busy.metrics.waiting = 50;
    await new Promise((r) => setTimeout(r, 1000));
    picksBefore = eppPicks().length;
  };
  const picked = () => eppPicks().slice(picksBefore).map(podOf);
  const options = { count: 6, beforeMeasure: busyPod };
  const observing = (f: any) => (f.observability_mode = true);
  /**
   * Every request 200 from a Pod, the EPP's answers dropped (none received); on an InferencePool route, istiod's pool
   * cluster's round robin reaching the busy Pod too (the plain route's Service cluster never takes a pick).
   */
  const unpicked = (t: Test, m: Measurement, poolRoute = true) => {
    t.comment(JSON.stringify({ servedBy: m.answers.map((a) => a.servedBy), picked: picked(), busy: busy.name }));
    t.ok(m.webhook.includes('EPP233'), 'kubectl printed EPP233');
    t.same(statuses(m), recorded(m.scenario));
    t.ok(statuses(m).every((s) => s === 200) && served(m), 'the Pods answered');
    t.equal(m.eppRequests, m.answers.length, 'the EPP saw every request');
    t.equal(stat(m, 'ext_proc.stream_msgs_received'), 0, 'Envoy took none of its answers');
    if (poolRoute) t.ok(m.answers.some((a) => a.servedBy === busy.name), `Envoy's own load balancing sent requests to ${busy.name}, which the EPP avoids`);
  };
  try {
    await scenario(t, 'EPP233-observability-plain-route', fullDuplex(observing), plainRoute(), (t, m) => {
      unpicked(t, m, false);
      t.same(picked(), [], 'FULL_DUPLEX_STREAMED bodies are not sent in observability_mode: the EPP picked nothing');
    }, options);

    const only = renamed('epp.ext_proc', (doc) => {
      observing(doc.spec.configPatches[0].patch.value.typed_config);
      doc.spec.configPatches.push(poolRouteOverride('envoy.filters.http.ext_proc', { disabled: true }));
    });
    await scenario(t, 'EPP233-observability-only-filter-pool-route', only, poolRoute({ inject: false }), (t, m) => {
      unpicked(t, m);
      t.same(picked(), [], 'the EPP picked nothing');
      t.ok(eppClusterCarried(m), "the EnvoyFilter's filter called its EPP cluster");
    }, options);

    // STREAMED bodies, which Envoy does send in observability_mode: the EPP gets the whole request and picks.
    const streamed = renamed('epp.ext_proc', (doc) => {
      const filter = doc.spec.configPatches[0].patch.value.typed_config;
      observing(filter);
      filter.processing_mode = { ...filter.processing_mode, request_body_mode: 'STREAMED', response_body_mode: 'STREAMED', request_trailer_mode: 'SKIP', response_trailer_mode: 'SKIP' };
      doc.spec.configPatches.push(poolRouteOverride('envoy.filters.http.ext_proc', { disabled: true }));
    });
    await scenario(t, 'EPP233-observability-streamed-only-filter-pool-route', streamed, poolRoute({ inject: false }), (t, m) => {
      unpicked(t, m);
      t.same(picked(), Array(m.answers.length).fill(idle.name), `with STREAMED bodies the EPP picked ${idle.name} for every request, and Envoy applied none of the picks`);
    }, options);

    const merged = parse(exampleEnvoyFilter());
    merged.spec.configPatches.push(mergeIntoIstiodFilter({ '@type': EXTERNAL_PROCESSOR, observability_mode: true }));
    await scenario(t, 'EPP233-observability-merged-into-istiods-filter', merged, poolRoute({ inject: false }), (t, m) => {
      unpicked(t, m);
      t.same(picked(), [], 'the EPP picked nothing');
      t.ok(eppClusterCarried(m), "istiod's filter called the EPP cluster the route override names");
    }, options);
    const istiods = (await httpFilters(plane.envoy, plane.envoyPort)).find((f) => f.name === 'envoy.filters.http.ext_proc');
    t.equal(istiods?.config?.observability_mode, true, "the MERGE reached istiod's filter");
    const pool = (await dynamicClusters(plane.envoy)).find((c: any) => /^outbound\|\d+\|\|gaie-inference-scheduling-ip-/.test(c?.name ?? ''));
    const lb = pool?.load_balancing_policy?.policies?.[0]?.typed_extension_config;
    t.comment(JSON.stringify(lb));
    t.equal(lb?.name, 'envoy.load_balancing_policies.override_host', "istiod's InferencePool cluster routes by the EPP's pick (override_host)");
    t.equal(lb?.typed_config?.fallback_policy?.policies?.[0]?.typed_extension_config?.name, 'envoy.load_balancing_policies.round_robin', 'and without one, round robin over the pool');

    const beside = fullDuplex((f, _c, doc) => {
      observing(f);
      doc.spec.configPatches.push(poolRouteOverride('envoy.filters.http.ext_proc', EPP_CLUSTER_OVERRIDE));
    });
    await scenario(t, 'EPP233-observability-beside-istiods-filter', beside, poolRoute({ inject: false }), (t, m) => {
      t.ok(m.webhook.includes('EPP233'), 'kubectl printed EPP233');
      t.same(statuses(m), recorded('EPP233-observability-beside-istiods-filter'));
      t.same(picked(), Array(m.answers.length).fill(idle.name), "istiod's filter (not in observability_mode) took the override to the EPP, which picked");
      t.same(m.answers.map((a) => a.servedBy), picked(), 'and its picks routed every request');
      t.equal(m.eppRequests, 2 * m.answers.length, 'the observing filter called the EPP a second time per request, for nothing');
    }, options);
  } finally {
    busy.metrics.waiting = 0;
    await removeEnvoyFilter('epp-ext-proc');
  }
});

// Last, as it stops the webhook: what its registrations do without it, for the kind the e2e control plane lacks.
t.test("the webhook down: a DestinationRule that sets a connection pool still applies (its registration is Ignore); an EnvoyFilter is refused (Fail)", async (t) => {
  await plane.webhook.stop();
  const rule = { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'epp-limit-webhook-down', namespace: NS }, spec: { host: `${EPP_SERVICE}.${NS}.svc.cluster.local`, trafficPolicy: { connectionPool: { http: { http2MaxRequests: 100 } } } } };
  const started = Date.now();
  const applied = await apply(plane, rule);
  t.equal(applied.code, 0, `stored: ${applied.stderr}`);
  t.notMatch(applied.stderr, 'EPP501', 'without its warning');
  t.ok(Date.now() - started < 10_000, `at once (${Date.now() - started} ms): the refused connection is not waited out`);
  const refused = await apply(plane, fullDuplex());
  t.not(refused.code, 0, 'an EnvoyFilter is refused');
  t.match(refused.stderr, 'failed calling webhook "envoyfilters.mutate.epp-webhook.io"');
});
