import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { networkInterfaces } from 'node:os';
import { scratchDir } from '../helpers/scratch-dir.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const SERVICES = new URL('../../examples/services.yaml', import.meta.url).pathname;

function serve(args: string[], env: NodeJS.ProcessEnv = process.env): { exited: Promise<{ code: number | null; stderr: string; stdout: string }>; child: ReturnType<typeof spawn> } {
  const child = spawn(process.execPath, [MAIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (c) => (stderr += c));
  child.stdout!.on('data', (c) => (stdout += c));
  return { child, exited: new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr, stdout }))) };
}

t.test('a bad config key stops startup with a message naming it, exit 2 as check and render give', async (t) => {
  const dir = scratchDir('epp-serve-');
  writeFileSync(join(dir, 'config.yaml'), 'eppService:\n  nmae: typo\n');
  const { exited } = serve(['--config', join(dir, 'config.yaml'), '--services', SERVICES, '--port', '0', '--metrics-port', 'off', '--certs-dir', dir]);
  const { code, stderr } = await exited;
  t.equal(code, 2);
  t.match(stderr, /config\.yaml: unknown key 'eppService\.nmae'/);
});

t.test('bad usage exits 2 with the reason and the usage', async (t) => {
  for (const [args, reason] of [
    [['--port', 'https'], /--port must be a port number/],
    [['--tls-cert', 'x.crt'], /--tls-cert and --tls-key go together/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--services', SERVICES, '--kubeconfig', 'k'], /alternatives/],
    [['--services', SERVICES, '--port', '18447', '--metrics-port', '18447'], /--port and --metrics-port are both 18447: the webhook \(HTTPS\) and the metrics \(plain HTTP\) need a port each/],
  ] as const) {
    const { code, stderr } = await serve([...args]).exited;
    t.equal(code, 2, String(reason));
    t.match(stderr, reason);
    t.match(stderr, /^epp-webhook serve: .*\nRun "epp-webhook serve --help" for usage\.\n$/, 'one line and a pointer to --help');
  }
});

t.test('a kubeconfig that cannot be read is named in one line, without a stack trace or its contents, exit 2 as check gives', async (t) => {
  const dir = scratchDir('epp-serve-');
  writeFileSync(join(dir, 'garbage.yaml'), '{token: [sk-secret-token');
  writeFileSync(join(dir, 'tagged.yaml'), 'users:\n- name: u\n  user:\n    token: !sk-secret-token\n');
  for (const file of ['/nonexistent/kubeconfig', join(dir, 'garbage.yaml'), join(dir, 'tagged.yaml')]) {
    const { code, stderr } = await serve(['--kubeconfig', file, '--port', '0', '--metrics-port', 'off', '--certs-dir', dir]).exited;
    t.equal(code, 2, file);
    t.match(stderr, new RegExp(`^epp-webhook serve: cannot load kubeconfig ${file}: .+\n$`), 'one line naming the file');
    t.notMatch(stderr, /\n\s+at /, 'no stack trace');
    t.notMatch(stderr, 'sk-secret-token', 'nor the file quoted: a kubeconfig holds credentials');
  }
});

t.test('KUBECONFIG is read as check reads it: files that do not exist are skipped, as kubectl skips them', async (t) => {
  const dir = scratchDir('epp-serve-');
  const kubeconfig = join(dir, 'kubeconfig');
  // No API server there: the caches retry, and the log names the server, so the file was read.
  writeFileSync(
    kubeconfig,
    ['apiVersion: v1', 'kind: Config', 'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]', 'users: [{name: u, user: {token: t}}]', 'contexts: [{name: c, context: {cluster: c, user: u}}]', 'current-context: c', ''].join('\n'),
  );
  const missing = join(dir, 'missing');
  // --reconcile too: the reconciler writes through the kubeconfig the caches read, not one loaded again.
  const args = ['--port', '0', '--metrics-port', 'off', '--certs-dir', dir, '--host', '127.0.0.1', '--reconcile', '--leader-election-namespace', 'epp-webhook', '--log-level', 'info'];
  const { child, exited } = serve(args, { ...process.env, KUBECONFIG: `${missing}:${kubeconfig}` });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  const deadline = Date.now() + 15000;
  while (!(out.includes('epp-webhook serving') && out.includes('reconciler started')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGTERM');
  const { code, stderr } = await exited;
  t.match(out, /"services":"the Service cache of https:\/\/127\.0\.0\.1:1","msg":"epp-webhook serving"/, stderr);
  t.match(out, /"msg":"reconciler started: campaigning for the Lease"/);
  t.equal(code, 0, stderr);

  const none = await serve(args, { ...process.env, KUBECONFIG: missing }).exited;
  t.equal(none.stderr, `epp-webhook serve: KUBECONFIG=${missing}: none of its files exists\n`, "check's message");
  t.equal(none.code, 2, "check's exit code");
});

t.test('missing TLS files are named', async (t) => {
  const { code, stderr } = await serve(['--tls-cert', '/nonexistent/tls.crt', '--tls-key', '/nonexistent/tls.key', '--services', SERVICES, '--port', '0', '--metrics-port', 'off']).exited;
  t.equal(code, 1);
  t.match(stderr, /\/nonexistent\/tls\.crt/);
});

t.test('serves with dev certificates, logs one line per admission, and exits 0 on SIGTERM', async (t) => {
  const dir = scratchDir('epp-serve-');
  const { child, exited } = serve(['--services', SERVICES, '--port', '0', '--metrics-port', 'off', '--certs-dir', dir, '--host', '127.0.0.1']);
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  const deadline = Date.now() + 15000;
  while (!out.includes('epp-webhook serving') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.match(out, /"msg":"epp-webhook serving"/);
  child.kill('SIGTERM');
  const { code, stderr } = await exited;
  t.equal(code, 0);
  const expiry = /issued dev certificates in \S+ \(CA: \S+ca\.crt; serving certificate valid until (\S+)\)/.exec(stderr)?.[1];
  t.ok(expiry, stderr);
  t.equal(expiry, new X509Certificate(readFileSync(join(dir, 'tls.crt'))).validToDate.toISOString(), "the date is the serving certificate's, as it says");
});

t.test('a --services file that holds no Service: it serves, and says at start that every placeholder will be denied', async (t) => {
  const dir = scratchDir('epp-serve-');
  const noServices = new URL('../../examples/envoyfilter-placeholder.yaml', import.meta.url).pathname;
  const { child, exited } = serve(['--services', noServices, '--port', '0', '--metrics-port', 'off', '--certs-dir', dir, '--host', '127.0.0.1']);
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  const deadline = Date.now() + 15000;
  while (!out.includes('holds no Service') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGTERM');
  await exited;
  t.match(out, /"level":40,.*"services":"[^"]*envoyfilter-placeholder\.yaml","msg":"the --services file holds no Service: every placeholder is denied \(EPP101, or EPP110 for a pool's\)/);
  const { child: other, exited: otherExited } = serve(['--services', SERVICES, '--port', '0', '--metrics-port', 'off', '--certs-dir', dir, '--host', '127.0.0.1']);
  let otherOut = '';
  other.stdout!.on('data', (c) => (otherOut += c));
  while (!otherOut.includes('epp-webhook serving') && Date.now() < deadline + 15000) await new Promise((r) => setTimeout(r, 50));
  other.kill('SIGTERM');
  await otherExited;
  t.notMatch(otherOut, 'holds no Service', 'not for a table of Services');
  const { child: both, exited: bothExited } = serve(['--services', noServices, '--services', SERVICES, '--port', '0', '--metrics-port', 'off', '--certs-dir', dir, '--host', '127.0.0.1']);
  let bothOut = '';
  both.stdout!.on('data', (c) => (bothOut += c));
  while (!bothOut.includes('epp-webhook serving') && Date.now() < deadline + 30000) await new Promise((r) => setTimeout(r, 50));
  both.kill('SIGTERM');
  await bothExited;
  t.match(bothOut, `"services":"${noServices}, ${SERVICES}"`, '--services twice: both files are the table');
  t.notMatch(bothOut, 'holds no Service', 'the second holds Services');
});

t.test('a missing --services file is one line naming it, not a stack trace, exit 2 as check and render give', async (t) => {
  const { code, stderr } = await serve(['--services', '/nonexistent/services.yaml', '--port', '0', '--metrics-port', 'off']).exited;
  t.equal(code, 2);
  t.equal(stderr, 'epp-webhook serve: cannot read services file /nonexistent/services.yaml: no such file or directory\n');
});

const hasIpv6Loopback = Object.values(networkInterfaces()).some((addresses) => addresses?.some((a) => a.family === 'IPv6' && a.internal));

t.test('without --host, both ports answer over IPv6 as well as IPv4: an IPv6-only cluster gives its pods no IPv4 address', { skip: hasIpv6Loopback ? false : 'no IPv6 loopback on this machine' }, async (t) => {
  const dir = scratchDir('epp-serve-');
  const { child, exited } = serve(['--services', SERVICES, '--port', '0', '--metrics-port', '0', '--certs-dir', dir]);
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  const deadline = Date.now() + 15000;
  while (!out.includes('epp-webhook serving') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.teardown(() => child.kill('SIGKILL'));
  const line = JSON.parse(out.split('\n').find((l) => l.includes('epp-webhook serving'))!);
  t.match(line.url, /^https:\/\/\[::\]:\d+$/, 'the log names the address listened on, bracketed');
  const port = Number(/:(\d+)$/.exec(line.url)![1]);
  const answered = (request: ReturnType<typeof httpRequest>) =>
    new Promise<number | string>((resolve) => {
      request.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message)).end();
    });
  for (const host of ['127.0.0.1', '[::1]']) {
    t.equal(await answered(httpsRequest(`https://${host}:${port}/healthz`, { rejectUnauthorized: false })), 200, `webhook port over ${host}`);
    t.equal(await answered(httpRequest(`http://${host}:${line.metricsPort}/healthz`)), 200, `metrics port over ${host}`);
  }
  child.kill('SIGTERM');
  t.equal((await exited).code, 0);
});
