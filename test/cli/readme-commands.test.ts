/**
 * The README's shell commands, run as a reader would run them from a checkout, so the README cannot drift from what
 * the CLI does. Every ```sh block is marked on the line before it: `<!-- readme-commands: run -->` (each command line
 * must exit 0 here), or `<!-- readme-commands: not run by the README test: <why> -->` (a cluster, Docker, or a CI
 * step of its own). An unmarked block fails this test.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO } from './cli-harness.ts';

const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const RUN = '<!-- readme-commands: run -->';
const NOT_RUN = /^<!-- readme-commands: not run by the README test: .+ -->$/;

interface Block {
  line: number;
  marker: string;
  commands: string[];
}

function shellBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```sh') continue;
    const end = lines.indexOf('```', i + 1);
    const commands = lines.slice(i + 1, end).filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
    blocks.push({ line: i + 1, marker: lines[i - 1] ?? '', commands });
    i = end;
  }
  return blocks;
}

const blocks = shellBlocks(README);

t.test('every shell block in the README says whether this test runs it', async (t) => {
  t.ok(blocks.length > 0);
  for (const block of blocks) t.ok(block.marker === RUN || NOT_RUN.test(block.marker), `README.md:${block.line}: ${block.marker}`);
  t.ok(blocks.filter((b) => b.marker === RUN).length >= 2, 'some are run');
});

t.test("the runnable blocks' commands exit 0 from a checkout", async (t) => {
  // A checkout of its own: the repository's entries linked into a scratch directory, so what a command writes
  // (epp.sarif) lands there and is removed afterwards.
  const checkout = mkdtempSync(join(tmpdir(), 'epp-webhook-readme-'));
  // npx records the checkout it ran the bin of under <npm cache>/_npx/<hash>: that goes too.
  const npxCache = join(process.env.npm_config_cache ?? join(homedir(), '.npm'), '_npx');
  t.teardown(() => {
    rmSync(checkout, { recursive: true, force: true });
    for (const entry of existsSync(npxCache) ? readdirSync(npxCache) : []) {
      const manifest = join(npxCache, entry, 'package.json');
      if (existsSync(manifest) && readFileSync(manifest, 'utf8').includes(checkout.slice(1))) rmSync(join(npxCache, entry), { recursive: true, force: true });
    }
  });
  for (const entry of readdirSync(REPO)) if (entry !== '.git') symlinkSync(join(REPO, entry), join(checkout, entry));
  // The Node running the tests (24) first, as npm puts it for npm test; tap's coverage loader out of NODE_OPTIONS.
  // npx installs the checkout as a package, and would run its prepare (`tap build`) there: that would point the
  // shared node_modules' tap plugins at this scratch directory, gone after the test. The reader's `npm ci` has
  // already built what prepare builds (dist/, tap's plugins), as the one that made this checkout's node_modules has.
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}`, npm_config_ignore_scripts: 'true' };
  for (const block of blocks.filter((b) => b.marker === RUN)) {
    for (const command of block.commands) {
      const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile('env', ['-u', 'NODE_OPTIONS', 'bash', '-o', 'pipefail', '-c', command], { cwd: checkout, env, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr }),
        ),
      );
      if (result.code === 0) t.pass(`README.md:${block.line}: ${command}`);
      else t.fail(`README.md:${block.line}: ${command} exited ${result.code}`, { stderr: result.stderr.slice(0, 4000) });
    }
  }
});
