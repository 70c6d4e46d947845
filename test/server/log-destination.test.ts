/**
 * The admission line is on stdout before its answer leaves: a pod killed right after answering (OOMKilled, a failed
 * liveness probe, SIGKILL at the end of the grace period) has logged every admission it answered.
 */
import t from 'tap';
import { once } from 'node:events';
import { Agent, request } from 'node:https';
import { admissionReview, manifest } from '../helpers/fixtures.ts';
import { startServeProcess } from './serve-process.ts';

function admit(url: string, ca: Buffer, agent: Agent, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/mutate`, { method: 'POST', ca, agent, servername: 'localhost', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume().once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end(body);
  });
}

t.test('SIGKILL right after the last answer: every answered admission has its log line', async (t) => {
  const serve = await startServeProcess();
  t.teardown(() => serve.kill());
  const object = manifest('guide-envoyfilter.yaml');
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  t.teardown(() => agent.destroy());
  const uids = Array.from({ length: 400 }, (_, i) => `log-line-${i}`);
  const statuses = await Promise.all(uids.map((uid) => admit(serve.url, serve.ca, agent, JSON.stringify(admissionReview(object, 'CREATE', uid)))));
  const closed = once(serve.child, 'close');
  serve.kill();
  await closed;
  t.same(new Set(statuses), new Set([200]), 'every admission was answered');
  const logged = new Set(serve.logs().filter((line) => line.msg === 'admission').map((line) => line.uid));
  const missing = uids.filter((uid) => !logged.has(uid));
  t.same(missing, [], `all ${uids.length} answered admissions are in the log`);
});
