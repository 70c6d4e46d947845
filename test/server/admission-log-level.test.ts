/**
 * The admission line is written beside pino, so it must follow the logger's level as pino's own lines do: one line per
 * admission at info and below, none at warn and above, and none with logging off.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { writeServingBundle } from '../../src/certs/serving-bundle.ts';
import { parseConfig } from '../../src/config.ts';
import type { LogOptions } from '../../src/server/log-options.ts';
import { startWebhookServer } from '../../src/server/webhook-server.ts';
import { admissionReview, fixtureResolver, manifest } from '../helpers/fixtures.ts';
import { postJson } from '../helpers/https-client.ts';
import { scratchDir } from '../helpers/scratch-dir.ts';

const bundle = writeServingBundle(scratchDir('epp-webhook-log-level-'), { serviceName: 'epp-webhook', namespace: 'epp-webhook' });
const ca = readFileSync(bundle.caCertFile);

/** The parsed lines a server logs while it answers one /mutate and one /validate of the guide's EnvoyFilter. */
async function linesAt(level: string | false): Promise<{ msg: string; uid?: string; level: number }[]> {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger: LogOptions = level === false ? false : { level, stream };
  const server = await startWebhookServer({ config: parseConfig({}), resolver: fixtureResolver(), certFile: bundle.certFile, keyFile: bundle.keyFile, host: '127.0.0.1', port: 0, metricsPort: undefined, logger });
  try {
    for (const path of ['/mutate', '/validate']) {
      const answer = await postJson(`https://127.0.0.1:${server.port}${path}`, ca, JSON.stringify(admissionReview(manifest('guide-envoyfilter.yaml'), 'CREATE', `uid${path.replace('/', '-')}`)));
      if (answer.status !== 200) throw new Error(`${path}: ${answer.status}`);
    }
    await postJson(`https://127.0.0.1:${server.port}/mutate`, ca, '{"not": "a review"}');
  } finally {
    await server.close();
  }
  return lines.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

t.test('one admission line per admission at info and debug, none at warn, error or off', async (t) => {
  for (const level of ['debug', 'info']) {
    const lines = await linesAt(level);
    t.same(lines.filter((l) => l.msg === 'admission').map((l) => [l.uid, l.level]), [['uid-mutate', 30], ['uid-validate', 30]], `${level}: both admissions`);
    const own = lines.find((l) => l.msg === 'not an AdmissionReview');
    t.ok(own, `${level}: pino's own info lines too`);
    // The line starts as the server's own pino writes its lines: same keys first, same pid and hostname.
    const head = (line: object) => Object.entries(line).slice(0, 4).map(([key, value]) => (key === 'time' ? key : [key, value]));
    for (const line of lines.filter((l) => l.msg === 'admission')) t.same(head(line), head(own!), `${level}: ${line.uid} begins as the server's pino lines do`);
  }
  for (const level of ['warn', 'error', false] as const) {
    t.same(await linesAt(level), [], `${level}: no line at all`);
  }
});
