import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

t.test('a scratch directory is gone when its test process exits, also after a failure', async (t) => {
  const helper = new URL('../helpers/scratch-dir.ts', import.meta.url).pathname;
  for (const ending of ['', 'process.exitCode = 1;']) {
    const script = `import { scratchDir } from ${JSON.stringify(helper)}; import { writeFileSync } from 'node:fs'; const d = scratchDir('epp-scratch-test-'); writeFileSync(d + '/ca.key', 'x'); console.log(d); ${ending}`;
    const dir = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], (error, stdout) => (error && !ending ? reject(error) : resolve(stdout.trim()))),
    );
    t.match(dir, /epp-scratch-test-/);
    t.notOk(existsSync(dir), `${dir} removed`);
  }
});
