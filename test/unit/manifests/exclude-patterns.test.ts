import t from 'tap';
import { ExcludePatterns } from '../../../src/manifests/exclude-patterns.ts';

t.test('a pattern without / matches a name anywhere; with / a path from the searched directory', async (t) => {
  const patterns = new ExcludePatterns(['vendor', '*.tpl.yaml', 'test/fixtures', './charts/*/templates/', 'docs/**/old.yaml']);
  for (const path of ['vendor', 'a/b/vendor', 'x.tpl.yaml', 'deploy/x.tpl.yaml', 'test/fixtures', 'charts/epp/templates', 'docs/old.yaml', 'docs/a/b/old.yaml']) {
    t.ok(patterns.excludes(path), `${path} excluded`);
  }
  for (const path of ['vendors', 'deploy/x.yaml', 'a/test/fixtures', 'test/fixtures-2', 'charts/a/b/templates', 'docs/new.yaml', 'xtpl.yaml']) {
    t.notOk(patterns.excludes(path), `${path} kept`);
  }
});

t.test('regular-expression characters in a pattern are literal', async (t) => {
  const patterns = new ExcludePatterns(['a+b(1).yaml']);
  t.ok(patterns.excludes('dir/a+b(1).yaml'));
  t.notOk(patterns.excludes('dir/aab1.yaml'));
});

t.test('no patterns, or empty ones, exclude nothing', async (t) => {
  t.notOk(new ExcludePatterns([]).excludes('anything'));
  t.notOk(new ExcludePatterns(['', '/', './']).excludes('anything'));
});
