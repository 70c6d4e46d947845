import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, spawnCli } from './cli-harness.ts';

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

t.test('an unknown command is one line and a pointer to --help', async (t) => {
  const result = await spawnCli(['chek', '.'], '');
  t.equal(result.code, 2);
  t.equal(result.stderr, 'epp-webhook: unknown command "chek"\nRun "epp-webhook --help" for usage.\n');
});
