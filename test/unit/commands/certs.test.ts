import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCertsCommand } from '../../../src/commands/certs.ts';
import { scratchDir } from '../../helpers/scratch-dir.ts';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCertsCommand(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

const mode = (file: string): number => statSync(file).mode & 0o777;

t.test('writes a CA and a serving certificate for the Service', async (t) => {
  const out = join(scratchDir('epp-certs-'), 'nested', 'certs');
  const result = await run(['--out', out, '--service', 'hook', '--namespace', 'gw', '--dns', 'hook.example.com', '--ip', '10.0.0.7', '--days', '30']);
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stderr, '');
  t.equal(mode(join(out, 'ca.crt')), 0o644);
  t.equal(mode(join(out, 'ca.key')), 0o600);
  t.equal(mode(join(out, 'tls.crt')), 0o644);
  t.equal(mode(join(out, 'tls.key')), 0o600);

  const ca = new X509Certificate(readFileSync(join(out, 'ca.crt')));
  const cert = new X509Certificate(readFileSync(join(out, 'tls.crt')));
  t.ok(cert.verify(ca.publicKey), 'the serving certificate is signed by the CA');
  for (const name of ['hook', 'hook.gw', 'hook.gw.svc', 'hook.gw.svc.cluster.local', 'localhost', 'hook.example.com']) {
    t.ok(cert.checkHost(name, { wildcards: false }), `valid for ${name}`);
  }
  for (const ip of ['127.0.0.1', '::1', '10.0.0.7']) t.ok(cert.checkIP(ip), `valid for ${ip}`);
  const days = (cert.validToDate.getTime() - Date.now()) / 86_400_000;
  t.ok(days > 29.9 && days <= 30, `--days sets the lifetime (${days})`);
  t.match(result.stdout, `created CA ${join(out, 'ca.crt')}`);
  t.match(result.stdout, `wrote serving certificate ${join(out, 'tls.crt')}`);
  t.match(result.stdout, `expires ${cert.validToDate.toISOString()}`);
  t.notOk(existsSync(join(out, 'tls.crt.tmp')));
});

t.test('a rerun keeps the CA, so an installed caBundle stays valid', async (t) => {
  const out = scratchDir('epp-certs-');
  t.equal((await run(['--out', out])).code, 0);
  const caBefore = readFileSync(join(out, 'ca.crt'));
  const certBefore = readFileSync(join(out, 'tls.crt'));

  const rerun = await run(['--out', out]);
  t.equal(rerun.code, 0);
  t.same(readFileSync(join(out, 'ca.crt')), caBefore, 'same ca.crt bytes');
  t.notSame(readFileSync(join(out, 'tls.crt')), certBefore, 'a new serving certificate');
  t.ok(new X509Certificate(readFileSync(join(out, 'tls.crt'))).checkIssued(new X509Certificate(caBefore)));
  t.match(rerun.stdout, 'reused the existing CA');
  t.ok(new X509Certificate(readFileSync(join(out, 'tls.crt'))).checkHost('epp-webhook.epp-webhook.svc'), 'default Service name');
});

t.test('bad usage exits 2 with a message and writes nothing', async (t) => {
  const out = join(scratchDir('epp-certs-'), 'never');
  const cases: [string[], RegExp][] = [
    [['--out', out, '--bogus'], /Unknown option '--bogus'/],
    [['--out', out, 'extra'], /positional argument/],
    [['--out'], /--out/],
    [['--out', out, '--days', '0'], /--days must be a whole number of days, at least 1 \(got "0"\)/],
    [['--out', out, '--days', '1e3'], /--days must be a whole number/],
    [['--out', out, '--days', '-1'], /: --days needs a value \(one that starts with a dash is written --days=-…\)$/m],
    [['--out', out, '--ip', '300.1.1.1'], /--ip "300.1.1.1" is not an IPv4 or IPv6 address/],
    [['--out', out, '--dns', 'bad_name'], /--dns "bad_name" is not a valid DNS name/],
    [['--out', out, '--service', 'Hook'], /--service "Hook" is not a valid Kubernetes name/],
  ];
  for (const [argv, message] of cases) {
    const result = await run(argv);
    t.equal(result.code, 2, argv.join(' '));
    t.match(result.stderr, message);
    t.match(result.stderr, /^epp-webhook certs: .*\nRun "epp-webhook certs --help" for usage\.\n$/, 'one line and a pointer to --help');
    t.equal(result.stdout, '');
  }
  t.notOk(existsSync(out));
});

t.test('--help prints the usage and exits 0', async (t) => {
  const result = await run(['--help']);
  t.equal(result.code, 0);
  t.match(result.stdout, /--out DIR/);
  t.equal(result.stderr, '');
});

t.test('an unwritable output directory exits 1 naming it', async (t) => {
  const aFile = join(scratchDir('epp-certs-'), 'a-file');
  writeFileSync(aFile, '');
  const result = await run(['--out', join(aFile, 'certs')]);
  t.equal(result.code, 1);
  t.match(result.stderr, `cannot write certificates to ${join(aFile, 'certs')}`);
  const onTheFile = await run(['--out', aFile]);
  t.equal(onTheFile.code, 1, 'the path of a file');
  t.match(onTheFile.stderr, `cannot write certificates to ${aFile}: EEXIST`);
});

t.test('a directory the file system will not create (under /proc) exits 1 at once, not a spinning process', { skip: !existsSync('/proc/self') && 'no /proc here' }, async (t) => {
  const result = await run(['--out', '/proc/epp-certs']);
  t.equal(result.code, 1);
  t.match(result.stderr, 'cannot write certificates to /proc/epp-certs: ENOENT');
});
