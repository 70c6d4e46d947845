import t from 'tap';
import { readFileSync } from 'node:fs';
import { RULES } from '../../src/findings.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

t.test('the README documents every rule code with its default severity', async (t) => {
  for (const [code, rule] of Object.entries(RULES)) {
    t.match(readme, new RegExp(`\\| ${code} \\| ${rule.severity}`), code);
  }
});

t.test('the README opens with the install-and-run and the test commands', async (t) => {
  const firstBlock = readme.split('```')[1];
  t.match(firstBlock, /npm ci && npm start/);
  t.match(firstBlock, /npm ci && npm test/);
});
