/**
 * deploy/Dockerfile's invariants, read structurally (Docker cannot run where these tests run; the image build itself
 * is not exercised here. test/e2e/deploy-manifests.e2e.test.ts rebuilds the image's /app from the same COPY set and
 * runs the manifests' commands in it).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../../', import.meta.url).pathname;
const dockerfile = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions with line continuations joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  return lines
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

const all = instructions(dockerfile);
const stages: Instruction[][] = [];
for (const instruction of all) {
  if (instruction.keyword === 'FROM') stages.push([]);
  stages.at(-1)?.push(instruction);
}
const finalStage = stages.at(-1)!;
const args = Object.fromEntries(all.filter((i) => i.keyword === 'ARG').map((i) => i.args.split('=', 2) as [string, string]));
const resolve = (image: string) => image.replace(/\$\{?(\w+)\}?/g, (_, name: string) => args[name] ?? '');

t.test('every stage is built on Node 24', async (t) => {
  const bases = all.filter((i) => i.keyword === 'FROM').map((i) => resolve(i.args.split(/\s+/)[0]));
  t.ok(bases.length >= 1);
  for (const base of bases) t.match(base, /^(docker\.io\/(library\/)?)?node:24([-.@].*)?$/, base);
});

t.test('the final stage runs as the non-root UID the manifests expect (65532)', async (t) => {
  const users = finalStage.filter((i) => i.keyword === 'USER');
  t.ok(users.length >= 1, 'a USER instruction in the final stage');
  t.match(users.at(-1)!.args, /^65532(:65532)?$/, 'numeric, so runAsNonRoot can verify it without /etc/passwd');
  t.notOk(users.some((u) => /^(0|root)(:|$)/.test(u.args)), 'never root');
  const copies = finalStage.filter((i) => i.keyword === 'COPY');
  t.ok(copies.every((i) => /--chown=0:0/.test(i.args)), 'files owned by root: the process (65532) cannot rewrite its own code');
  const deployment = readFileSync(join(ROOT, 'deploy/base/deployment.yaml'), 'utf8');
  t.match(deployment, /runAsUser: 65532/, 'deploy/base agrees');
});

t.test('production dependencies only, exactly as locked, no install scripts', async (t) => {
  const installs = all.filter((i) => i.keyword === 'RUN' && /\bnpm\b/.test(i.args));
  t.ok(installs.length >= 1);
  for (const install of installs) {
    t.match(install.args, /\bnpm ci\b/, 'npm ci (the lockfile), never npm install');
    t.notMatch(install.args, /\bnpm (install|i)\b/);
    t.match(install.args, /--omit=dev/);
    t.match(install.args, /--ignore-scripts/);
  }
});

t.test('the image gets package files and src/ only; never secrets', async (t) => {
  const copies = all.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
  t.notOk(copies.some((i) => i.keyword === 'ADD'), 'COPY, not ADD (no remote URLs or auto-extraction)');
  for (const copy of copies) {
    const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith('--') || p.startsWith('--from'));
    if (parts[0]?.startsWith('--from')) {
      t.match(parts[1], /node_modules$/, `${copy.args}: only node_modules from the dependency stage`);
      continue;
    }
    const sources = parts.slice(0, -1);
    for (const source of sources) {
      t.ok(['package.json', 'package-lock.json', 'src'].includes(source), `COPY ${source}: package files and src only`);
    }
  }
  t.notMatch(dockerfile, /\b(certs\/|\.pem|\.key\b|id_rsa|\.npmrc|\.env\b)/, 'no certificates, keys, npm credentials or env files');
  for (const instruction of all.filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG')) {
    t.notMatch(instruction.args, /(TOKEN|PASSWORD|SECRET|API_KEY|NPM_AUTH)/i, `${instruction.keyword} ${instruction.args}: no credentials baked in`);
  }
  // What the image copies holds no private key (a stray dev key under src/ would ship).
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((entry) => (statSync(join(dir, entry)).isDirectory() ? walk(join(dir, entry)) : [join(dir, entry)]));
  for (const file of walk(join(ROOT, 'src'))) {
    t.notMatch(readFileSync(file, 'utf8'), /-----BEGIN [A-Z ]*PRIVATE KEY-----/, file);
  }
});

t.test('.dockerignore sends only what the Dockerfile copies, and never key material', async (t) => {
  const patterns = dockerignore.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  t.equal(patterns[0], '*', 'deny by default: node_modules, .git, certs/, coverage never reach the build context');
  const allowed = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
  t.same(allowed.filter((p) => !p.startsWith('src')).sort(), ['package-lock.json', 'package.json']);
  for (const secret of ['**/*.pem', '**/*.key']) t.ok(patterns.includes(secret), `${secret} excluded even under src/`);
});

t.test('the entrypoint runs the TypeScript sources with node, exec form; serve by default', async (t) => {
  const entrypoint = finalStage.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
  const [command, entry] = JSON.parse(entrypoint!.args);
  t.same([command, entry], ['node', '/app/src/main.ts'], 'exec form: node is PID 1 and gets SIGTERM; an absolute entry, so `-w` may move the working directory');
  // CMD, not the entrypoint, names serve: `docker run IMAGE check -` replaces it and runs the same CLI's check.
  t.same(JSON.parse(finalStage.filter((i) => i.keyword === 'CMD').at(-1)!.args), ['serve']);
  t.same(finalStage.filter((i) => i.keyword === 'WORKDIR').map((i) => i.args), ['/app'], 'the entry is in the WORKDIR the sources are copied to');
  // README: `docker run --rm -v "$PWD:/src:ro" -w /src IMAGE check .`. The image's /app is this checkout's layout
  // (src, node_modules, package.json): run its entry from another working directory holding a manifest.
  const mounted = mkdtempSync(join(tmpdir(), 'docker-w-'));
  t.teardown(() => rmSync(mounted, { recursive: true, force: true }));
  cpSync(join(ROOT, 'examples/envoyfilter-placeholder.yaml'), join(mounted, 'envoyfilter.yaml'));
  const run = spawnSync(process.execPath, [join(ROOT, entry.slice('/app/'.length)), 'check', '.', '--cluster-ip', 'llm-d-inference-scheduler/gaie-inference-scheduling-epp=10.96.0.50'], { cwd: mounted, encoding: 'utf8' });
  t.match(run.stdout, /1 object checked: 1 admitted/, `check . reads the working directory's manifests: ${run.stderr}`);
  // The npm package ships src/ compiled (Node does not strip types under node_modules): its bin checks the Node.js
  // version first (the image's is the one it needs), then runs the same entry.
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const build = readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8');
  t.equal(pkg.bin['epp-webhook'], 'dist/cli.js', 'the published bin is the build of src/cli.ts');
  const viaBin = spawnSync(process.execPath, [join(ROOT, 'src/cli.ts'), 'check', '.', '--cluster-ip', 'llm-d-inference-scheduler/gaie-inference-scheduling-epp=10.96.0.50'], { cwd: mounted, encoding: 'utf8' });
  t.equal(viaBin.stdout, run.stdout, "the bin's source runs the same command as the image's entry");
  t.match(build, /"rootDir": "src"/);
  t.match(build, /"outDir": "dist"/);
  t.ok(statSync(join(ROOT, 'package-lock.json')).isFile(), 'npm ci needs the lockfile');
});
