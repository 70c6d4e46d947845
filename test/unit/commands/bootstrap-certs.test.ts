import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { durationMs, parseBootstrapCertsFlags, runBootstrapCertsCommand } from '../../../src/commands/bootstrap-certs.ts';
import { scratchDir } from '../../helpers/scratch-dir.ts';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runBootstrapCertsCommand(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

t.test('defaults match deploy/overlays/self-signed', async (t) => {
  const flags = parseBootstrapCertsFlags([]);
  t.not(flags, 'help');
  t.match(flags, {
    namespace: 'epp-webhook',
    secret: 'epp-webhook-tls',
    caSecret: 'epp-webhook-ca',
    service: 'epp-webhook',
    mutating: 'epp-webhook',
    validating: 'epp-webhook',
    renewBeforeMs: 30 * 86_400_000,
    days: 90,
    caDays: 1825,
    overlapMs: 3_600_000,
    waitMs: 60_000,
    createOnly: false,
    kubeconfig: undefined,
  });
});

t.test('durations: d, h, m, s, or bare days', async (t) => {
  t.equal(durationMs('30d', 'x'), 30 * 86_400_000);
  t.equal(durationMs('720h', 'x'), 30 * 86_400_000);
  t.equal(durationMs('90m', 'x'), 5_400_000);
  t.equal(durationMs('0s', 'x'), 0);
  t.equal(durationMs('7', 'x'), 7 * 86_400_000);
  t.throws(() => durationMs('1w', '--overlap'), /--overlap must be a duration/);
  t.throws(() => durationMs('-1d', '--overlap'), /--overlap must be a duration/);
});

t.test('bad usage exits 2 and names the flag', async (t) => {
  for (const [argv, message] of [
    [['--renew-before', 'soon'], /--renew-before must be a duration/],
    [['--days', '0'], /--days must be a whole number of days/],
    [['--namespace', 'Bad_NS'], /--namespace "Bad_NS" is not a valid Kubernetes name/],
    [['--ip', '10.0.0.300'], /--ip "10.0.0.300" is not an IPv4 or IPv6 address/],
    [['--dns', 'under_score.example'], /--dns "under_score.example" is not a valid DNS name/],
    [['--nope'], /Unknown option '--nope'/],
  ] as const) {
    const result = await run([...argv]);
    t.equal(result.code, 2, argv.join(' '));
    t.match(result.stderr, message);
    t.match(result.stderr, /^epp-webhook bootstrap-certs: .*\nRun "epp-webhook bootstrap-certs --help" for usage\.\n$/, 'one line and a pointer to --help');
  }
});

t.test('--help exits 0 and documents the overlap', async (t) => {
  const result = await run(['--help']);
  t.equal(result.code, 0);
  t.match(result.stdout, /caBundle = new CA \+ old CA is patched \*before\* the serving Secret changes/);
});

t.test('an unusable kubeconfig exits 2 as in check and serve, an unreachable API server 1, each with the reason', async (t) => {
  const missing = await run(['--kubeconfig', '/nonexistent/kubeconfig']);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /cannot load kubeconfig \/nonexistent\/kubeconfig/);

  // A port nothing listens on: the first read fails, nothing is written, exit 1.
  const file = join(scratchDir('epp-bootstrap-'), 'kubeconfig');
  writeFileSync(
    file,
    ['apiVersion: v1', 'kind: Config', 'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]', 'users: [{name: u, user: {token: t}}]', 'contexts: [{name: c, context: {cluster: c, user: u}}]', 'current-context: c', ''].join('\n'),
  );
  const unreachable = await run(['--kubeconfig', file, '--wait', '0s']);
  t.equal(unreachable.code, 1);
  t.match(unreachable.stderr, /cannot read Secret epp-webhook\/epp-webhook-ca/);
});

t.test('KUBECONFIG is read as check reads it: files that do not exist are skipped, as kubectl skips them', async (t) => {
  const saved = process.env.KUBECONFIG;
  t.teardown(() => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  });
  const dir = scratchDir('epp-bootstrap-');
  const [file, missing] = [join(dir, 'kubeconfig'), join(dir, 'missing')];
  writeFileSync(
    file,
    ['apiVersion: v1', 'kind: Config', 'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]', 'users: [{name: u, user: {token: t}}]', 'contexts: [{name: c, context: {cluster: c, user: u}}]', 'current-context: c', ''].join('\n'),
  );
  process.env.KUBECONFIG = `${missing}:${file}`;
  const read = await run(['--wait', '0s']);
  t.match(read.stdout, /^epp-webhook bootstrap-certs: API server https:\/\/127\.0\.0\.1:1;/, 'the server of the file that exists');
  t.match(read.stderr, /cannot read Secret epp-webhook\/epp-webhook-ca/);

  process.env.KUBECONFIG = missing;
  const none = await run([]);
  t.equal(none.stderr, `epp-webhook bootstrap-certs: KUBECONFIG=${missing}: none of its files exists\n`, "check's message");
  t.equal(none.code, 2, "check's exit code");
});

t.test('without --kubeconfig, KUBECONFIG, ~/.kube/config or a pod, it says there is no cluster instead of trying localhost:8080', async (t) => {
  const saved = { HOME: process.env.HOME, KUBECONFIG: process.env.KUBECONFIG, KUBERNETES_SERVICE_HOST: process.env.KUBERNETES_SERVICE_HOST };
  t.teardown(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
  process.env.HOME = scratchDir('epp-no-kube-');
  delete process.env.KUBECONFIG;
  delete process.env.KUBERNETES_SERVICE_HOST;
  const result = await run([]);
  t.equal(result.code, 2);
  t.match(result.stderr, /^epp-webhook bootstrap-certs: no cluster to write to: pass --kubeconfig FILE, set KUBECONFIG, or run it in the cluster/);
  t.notMatch(result.stderr, /localhost:8080/);
  process.env.KUBECONFIG = '';
  t.equal((await run([])).code, 2, 'an empty KUBECONFIG names no kubeconfig, as client-node reads it');
});
