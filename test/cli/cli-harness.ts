import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ManifestCommandIo } from '../../src/commands/manifest-options.ts';
import { scratchDir } from '../helpers/scratch-dir.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const MANIFESTS = join(REPO, 'test/fixtures/manifests');
export const SERVICES = join(MANIFESTS, 'services.yaml');
export const EPP_SERVICE = 'llm-d-inference-scheduler/gaie-inference-scheduling-epp';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Calls a command's run function with captured stdout/stderr and `stdin` as standard input (not a terminal). */
export async function runCommand(
  command: (argv: string[], io: ManifestCommandIo) => Promise<number>,
  argv: string[],
  stdin = '',
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await command(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from([Buffer.from(stdin)]),
  });
  return { code, stdout, stderr };
}

/** Runs the real CLI (`src/main.ts`) under the Node running the tests, with `stdin` piped in. */
export function spawnCli(args: string[], stdin: string | Uint8Array, env: Record<string, string | undefined> = withoutKubeconfig()): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO, 'src/main.ts'), ...args], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** The test's environment without KUBECONFIG: a developer's cluster must not answer for the tests. */
export function withoutKubeconfig(): Record<string, string | undefined> {
  const { KUBECONFIG: _, ...env } = process.env;
  return env;
}

export function fixture(name: string): string {
  return readFileSync(join(MANIFESTS, name), 'utf8');
}

/** The 1-based line of the first line of `file` containing `text`. */
export function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((line) => line.includes(needle));
  if (index === -1) throw new Error(`${JSON.stringify(needle)} not found`);
  return index + 1;
}

/** Writes files (relative path -> content) under a new temporary directory and returns it. */
export function tree(files: Record<string, string>): string {
  const root = scratchDir('epp-manifests-');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}
