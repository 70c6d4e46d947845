/**
 * The CLI as a user outside this repository gets it: `npm pack`, then `npx ./epp-webhook-<version>.tgz` from an
 * empty directory. npm installs the tarball's production dependencies (from the local npm cache when it has them)
 * and runs its bin, the JavaScript build in dist/: Node does not strip types under node_modules, so a package that
 * shipped src/*.ts would not run.
 */
import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { unsupportedNode } from '../../src/node-version.ts';
import { EPP_SERVICE, fixture, REPO } from './cli-harness.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// npm installs dependencies: slower than the other CLI tests, most of all with a cold npm cache.
t.setTimeout(600_000);

/**
 * Runs a command as a user's shell would. tap's process-info hook puts its coverage loader into the NODE_OPTIONS of
 * every child it sees spawned (and the loader breaks tsc); `env -u NODE_OPTIONS` drops it after that point.
 */
function run(command: string, args: string[], options: { cwd: string; stdin?: string }): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile('env', ['-u', 'NODE_OPTIONS', command, ...args], { cwd: options.cwd, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr }),
    );
    child.stdin?.end(options.stdin ?? '');
  });
}

const { version, engines } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string; engines: { node: string } };
const scratch = mkdtempSync(join(tmpdir(), 'epp-webhook-packed-'));
const empty = join(scratch, 'empty');
mkdirSync(empty);
const tarball = `epp-webhook-${version}.tgz`;

// npx installs a package into <npm cache>/_npx/<hash of the spec's text>, and reuses what it finds there: the spec
// `./epp-webhook-0.1.0.tgz` would run whatever another directory's tarball of that name installed. So the runs below
// name this run's tarball by its absolute path (`npx --package=/tmp/.../epp-webhook-0.1.0.tgz epp-webhook`, the same
// install as `npx ./epp-webhook-0.1.0.tgz` from that directory), and the entry is removed afterwards.
const npxCache = join(process.env.npm_config_cache ?? join(homedir(), '.npm'), '_npx');
t.teardown(() => {
  rmSync(scratch, { recursive: true, force: true });
  for (const entry of existsSync(npxCache) ? readdirSync(npxCache) : []) {
    const manifest = join(npxCache, entry, 'package.json');
    if (existsSync(manifest) && readFileSync(manifest, 'utf8').includes(empty)) rmSync(join(npxCache, entry), { recursive: true, force: true });
  }
});

const npx = (args: string[], stdin?: string) => run('npx', ['--yes', '--prefer-offline', `--package=${join(empty, tarball)}`, 'epp-webhook', ...args], { cwd: empty, stdin });

t.test('npm pack ships the JavaScript build, not the TypeScript sources', async (t) => {
  const build = await run('npm', ['run', 'build', '--silent'], { cwd: REPO });
  t.equal(build.code, 0, build.stderr);
  // --ignore-scripts: the build just ran; `prepare` (which npm pack and npm publish run) also builds.
  const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', empty], { cwd: REPO });
  t.equal(pack.code, 0, pack.stderr);
  const [packed] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
  t.equal(packed.filename, tarball);
  const files = packed.files.map((f) => f.path);
  t.ok(files.includes('dist/cli.js') && files.includes('dist/main.js'), 'the bin and the command it runs');
  t.same(files.filter((f) => !f.startsWith('dist/')).sort(), ['README.md', 'package.json']);
  t.same(files.filter((f) => f.endsWith('.ts')), [], 'no TypeScript');
  const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  t.notOk(manifest.private, 'publishable');
  t.match(manifest.scripts.prepare, /npm run build/, 'npm publish builds dist/ first');
});

t.test('npx epp-webhook from the packed tarball, in an empty directory', async (t) => {
  t.ok(existsSync(join(empty, tarball)), 'packed');
  const versionRun = await npx(['--version']);
  t.equal(versionRun.code, 0, versionRun.stderr);
  t.equal(versionRun.stdout, `${version}\n`);

  const safe = await npx(['check', join(REPO, 'examples'), '--cluster-ip', `${EPP_SERVICE}=10.96.0.50`]);
  t.equal(safe.code, 0, safe.stdout + safe.stderr);
  t.match(safe.stdout, /1 object checked: 1 admitted, 0 denied/);

  const unsafe = await npx(['check', '-'], fixture('guide-envoyfilter-buffered.yaml'));
  t.equal(unsafe.code, 1, 'a manifest the webhook would deny, piped in');
  t.match(unsafe.stdout, '[EPP202]');

  const repository = await npx(['check', REPO, '--services', join(REPO, 'examples/services.yaml'), '--output', 'json']);
  t.equal(repository.code, 1, 'this repository: its unsafe fixtures are denied');
  t.equal(JSON.parse(repository.stdout).summary.unusableInputs, 0, 'and nothing in it is unusable input');

  const rendered = await npx(['render', '-', '--cluster-ip', `${EPP_SERVICE}=10.96.0.50`], fixture('guide-envoyfilter.yaml'));
  t.equal(rendered.code, 0, rendered.stderr);
  t.match(rendered.stdout, 'address: 10.96.0.50');
});

// The machine's own Node.js, where it is older than package.json's engines allow (Node 20 on the project's machine).
const olderNode = ['/usr/bin/node', '/usr/local/bin/node'].map((path) => ({ path, version: existsSync(path) ? execFileSync(path, ['--version'], { encoding: 'utf8' }).trim() : '' })).find((n) => n.version !== '' && unsupportedNode(n.version, engines.node) !== undefined);
t.test('the bin on a Node.js older than engines allows: one line saying which it needs, exit 1', { skip: olderNode === undefined && 'no older Node.js on this machine' }, async (t) => {
  const result = await run(olderNode!.path, [join(REPO, 'dist/cli.js'), 'check', join(REPO, 'examples')], { cwd: empty });
  t.equal(result.code, 1);
  t.equal(result.stderr, `epp-webhook: needs Node.js 22.19.0 or later (this is ${olderNode!.version.slice(1)}); install a current LTS, e.g. Node.js 24\n`);
  t.equal(result.stdout, '');
});
