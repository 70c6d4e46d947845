import t from 'tap';
import { runServeCommand } from '../../../src/commands/serve.ts';

function io() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: { stdout: { write: (s: string) => ((out.stdout += s), true) }, stderr: { write: (s: string) => ((out.stderr += s), true) } } as any,
  };
}

t.test('--reconcile needs a cluster, not a Service file', async (t) => {
  const { out, io: streams } = io();
  t.equal(await runServeCommand(['--reconcile', '--services', 'examples/services.yaml', '--leader-election-namespace', 'x'], streams), 2);
  t.match(out.stderr, '--reconcile patches EnvoyFilters in a cluster');
});

t.test('--reconcile needs a namespace for its Lease', async (t) => {
  const saved = process.env.POD_NAMESPACE;
  delete process.env.POD_NAMESPACE;
  t.teardown(() => {
    if (saved !== undefined) process.env.POD_NAMESPACE = saved;
  });
  const { out, io: streams } = io();
  t.equal(await runServeCommand(['--reconcile', '--kubeconfig', '/nonexistent'], streams), 2);
  t.match(out.stderr, '--reconcile needs a namespace for its Lease');
});

t.test('--help documents the flags', async (t) => {
  const { out, io: streams } = io();
  t.equal(await runServeCommand(['--help'], streams), 0);
  for (const flag of ['--reconcile', '--leader-election-namespace NS', '--leader-election-identity NAME']) t.match(out.stdout, flag);
});
