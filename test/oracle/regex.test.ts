import t from 'tap';
import { envoyValidator } from './envoy/envoy-validate.ts';
import { gatewayBootstrap } from './envoy/gateway-bootstrap.ts';
import { askIstio } from './istio-oracle.ts';
import { toolPath } from './run-differential.ts';
import { loadServicesFile } from '../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { askWebhook } from './webhook-verdict.ts';
import { externalProcessor, NAMESPACE, withFilter } from './corpus/building-blocks.ts';

// EPP226: the regexes of an ext_proc config (mutation_rules, forward_rules) are RE2's, which has no lookaround,
// backreferences, atomic groups or possessive quantifiers. Each regex below through the webhook, then istiod's code,
// then Envoy 1.40 on what istiod pushes: the webhook must deny exactly those Envoy rejects.
const CACHE = process.env.EPP_WEBHOOK_CACHE ?? `${process.env.HOME}/.cache/epp-webhook`;
const REGEXES = [
  '^(?!x-envoy).*',
  '(?<!x-)epp',
  '(?<=x-)epp',
  '(a)\\1',
  '(?>ab)c',
  'a*+',
  '^x-(epp|gateway)-.*',
  '[(?!]x',
  '\\(?!x',
  '(?P<name>x-epp)',
  '(?i)x-epp',
  '\\\\1',
];

t.test("ext_proc regexes RE2 cannot compile: Envoy rejects the listener, and the webhook denies exactly those (EPP226)", async (t) => {
  const oracle = toolPath('test/oracle/build-istio-oracle.sh', 'ISTIO_ORACLE');
  const envoy = await envoyValidator(toolPath('scripts/install-envoy.sh', 'ENVOY'), `${CACHE}/oracle`);
  const deps = { config: DEFAULT_CONFIG, resolver: loadServicesFile(new URL('../fixtures/manifests/services.yaml', import.meta.url).pathname) };
  const cases = REGEXES.flatMap((regex) => [
    { id: `mutation_rules ${regex}`, object: withFilter('regex', externalProcessor({ mutation_rules: { allow_expression: { regex } } })) },
    { id: `forward_rules ${regex}`, object: withFilter('regex', externalProcessor({ forward_rules: { allowed_headers: { patterns: [{ safe_regex: { regex } }] } } })) },
  ]);
  const webhook = await Promise.all(cases.map(({ object }) => askWebhook(object, NAMESPACE, deps)));
  const istio = await askIstio(oracle, cases.map(({ id }, i) => ({ id, object: webhook[i].stored })));
  const verdicts = await envoy.validate(istio.map((verdict) => gatewayBootstrap(verdict.patches).bootstrap));
  let rejected = 0;
  for (const [i, { id }] of cases.entries()) {
    t.ok(istio[i].admitted, `${id}: istiod admits it`);
    const denied = webhook[i].findings.some((f) => f.code === 'EPP226' && f.severity === 'deny');
    t.equal(denied, !verdicts[i].ok, `${id}: Envoy ${verdicts[i].ok ? 'accepts it, no EPP226' : `rejects it (${verdicts[i].message.slice(0, 120)}), EPP226`}`);
    if (!verdicts[i].ok) rejected++;
  }
  t.equal(rejected, 12, 'the six constructs RE2 lacks, in both places');
});
