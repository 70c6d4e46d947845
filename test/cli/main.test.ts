import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { REPO, spawnCli, withoutKubeconfig } from './cli-harness.ts';

const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };

t.test('--version and version print the package version', async (t) => {
  for (const argv of [['--version'], ['version']]) {
    const result = await spawnCli(argv, '');
    t.equal(result.code, 0);
    t.equal(result.stdout, `${version}\n`);
  }
});

t.test('-h, --help and help print the commands on stdout and exit 0; no command is a usage error', async (t) => {
  for (const argv of [['-h'], ['--help'], ['help']]) {
    const result = await spawnCli(argv, '');
    t.equal(result.code, 0, argv[0]);
    t.match(result.stdout, /^Usage: epp-webhook <command>/);
  }
  const none = await spawnCli([], '');
  t.equal(none.code, 2);
  t.equal(none.stdout, '');
  t.match(none.stderr, /^Usage: epp-webhook <command>/);
});

t.test('--version and --help take no arguments: one given is a usage error, not ignored; help COMMAND is that command\'s help', async (t) => {
  for (const argv of [['--version', '--bogus'], ['version', 'check'], ['--help', 'x'], ['help', 'chek']]) {
    const result = await spawnCli(argv, '');
    t.equal(result.code, 2, argv.join(' '));
    t.equal(result.stdout, '');
    t.match(result.stderr, `epp-webhook: ${argv[0]} takes no arguments (got "${argv[1]}")`);
  }
  const help = await spawnCli(['help', 'check'], '');
  t.equal(help.code, 0);
  t.same(help, await spawnCli(['check', '--help'], ''), 'the same as check --help');
});

t.test('an unknown command is one line and a pointer to --help', async (t) => {
  const result = await spawnCli(['chek', '.'], '');
  t.equal(result.code, 2);
  t.equal(result.stderr, 'epp-webhook: unknown command "chek"\nRun "epp-webhook --help" for usage.\n');
  for (const name of ['toString', 'constructor', '__proto__']) {
    const inherited = await spawnCli([name], '');
    t.equal(inherited.code, 2, `${name}: a name every object inherits is no command either`);
    t.equal(inherited.stderr, `epp-webhook: unknown command "${name}"\nRun "epp-webhook --help" for usage.\n`);
  }
});

t.test('a reader that closes the pipe early (| head -1) ends the command quietly, with its own exit code', async (t) => {
  const args = (command: string) => [command, 'examples/', 'test/fixtures/manifests/wild/operator-envoyfilter-route-override.yaml', '--services', 'examples/services.yaml'];
  for (const command of ['render', 'check']) {
    const whole = await spawnCli(args(command), '');
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [join(REPO, 'src/main.ts'), ...args(command)], { cwd: REPO, env: withoutKubeconfig(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stdout.destroy();
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    t.equal(code, whole.code, `${command}: the code it gives with the whole output read`);
    t.notMatch(stderr, 'EPIPE', `${command}: no stack trace`);
    t.equal(stderr, whole.stderr, `${command}: what it says on stderr is unchanged`);
  }
});

t.test("a reader of stderr that closes early (2>&1 >out | head -1): the whole output is still written, with the command's own exit code", async (t) => {
  const args = (command: string) => [command, 'examples/', 'test/fixtures/manifests/wild/operator-envoyfilter-route-override.yaml', '--services', 'examples/services.yaml'];
  // render's warnings go to stderr (check writes its report to stdout).
  for (const command of ['render']) {
    const whole = await spawnCli(args(command), '');
    t.ok(whole.stderr.length > 0, `${command} writes to stderr`);
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [join(REPO, 'src/main.ts'), ...args(command)], { cwd: REPO, env: withoutKubeconfig(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stderr.destroy();
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    t.equal(code, whole.code, `${command}: the code it gives with stderr read`);
    t.equal(stdout, whole.stdout, `${command}: the whole output`);
    t.equal(stderr, '');
  }
});
