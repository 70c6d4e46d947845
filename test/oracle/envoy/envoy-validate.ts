import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EnvoyVerdict {
  ok: boolean;
  /** Envoy's reason when it rejects the configuration (its critical log line, without the prefix). */
  message: string;
}

export interface EnvoyValidator {
  version: string;
  validate(bootstraps: readonly unknown[]): Promise<EnvoyVerdict[]>;
}

/**
 * Runs `envoy --mode validate` on each bootstrap: proto parsing, the protos' validation rules and each
 * extension's own config checks, as for an xDS update. Verdicts are cached per machine under `cacheDir`
 * by the Envoy build and the bootstrap's bytes, so a rerun only asks Envoy about what changed, and by how its output
 * is read into a message (READING: raise it when reason() changes, so no verdict keeps a message read the old way).
 */
const READING = 2;

export async function envoyValidator(envoy: string, cacheDir: string): Promise<EnvoyValidator> {
  const version = (await run(envoy, ['--version'])).output.match(/version: (\S+)/)?.[1] ?? 'unknown';
  const verdicts = join(cacheDir, 'envoy-validate', `${version.replaceAll('/', '_')}-reading${READING}`);
  mkdirSync(verdicts, { recursive: true });

  const validateOne = async (text: string, key: string, work: string): Promise<EnvoyVerdict> => {
    const cached = join(verdicts, `${key}.json`);
    try {
      return JSON.parse(readFileSync(cached, 'utf8')) as EnvoyVerdict;
    } catch {
      // not cached yet
    }
    const file = join(work, `${key}.json`);
    writeFileSync(file, text);
    const { code, output } = await run(envoy, ['--mode', 'validate', '-c', file, '-l', 'critical', '--log-format', '%v']);
    rmSync(file, { force: true });
    if (code !== 0 && !output.includes('error initializing configuration')) throw new Error(`envoy --mode validate failed without a verdict: ${output}`);
    const verdict: EnvoyVerdict = { ok: code === 0, message: code === 0 ? '' : reason(output, file) };
    writeFileSync(`${cached}.tmp${process.pid}`, JSON.stringify(verdict));
    renameSync(`${cached}.tmp${process.pid}`, cached);
    return verdict;
  };

  return {
    version,
    async validate(bootstraps) {
      // Many configs translate to the same bootstrap: ask Envoy once per distinct one.
      const texts = bootstraps.map((b) => JSON.stringify(b));
      const keys = texts.map((text) => createHash('sha256').update(text).digest('hex'));
      const distinct = [...new Map(keys.map((key, i) => [key, texts[i]])).entries()];
      const byKey = new Map<string, EnvoyVerdict>();
      const work = mkdtempSync(join(tmpdir(), 'envoy-oracle-'));
      let next = 0;
      const worker = async () => {
        while (next < distinct.length) {
          const [key, text] = distinct[next++];
          byKey.set(key, await validateOne(text, key, work));
        }
      };
      try {
        await Promise.all(Array.from({ length: Math.max(1, availableParallelism()) }, worker));
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
      return keys.map((key) => byKey.get(key)!);
    },
  };
}

/** Envoy's reason: the text after "error initializing configuration '<file>': ", without the proto dump it may embed. */
function reason(output: string, file: string): string {
  const prefix = `error initializing configuration '${file}': `;
  const at = output.indexOf(prefix);
  const text = at >= 0 ? output.slice(at + prefix.length) : output;
  const lines = text.split('\n').map((l) => l.replace(/goo\.gle\/debug\w*/g, '').trim()).filter((l) => l !== '');
  const first = lines[0] ?? '';
  const last = lines.at(-1) ?? '';
  // A first line ending in a brace is a config's JSON, except before a CEL error's caret line (`| ...^`), which points into it.
  return (lines.length > 1 && (!/[{}]$/.test(first) || last.startsWith('|')) && first !== last ? `${first} ${last}` : last).replace(/^: /, '');
}

function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}
