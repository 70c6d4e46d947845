import t from 'tap';
import { ExcludePatterns } from '../../../src/manifests/exclude-patterns.ts';

t.test('a pattern without / matches a name anywhere; with / a path from the searched directory', async (t) => {
  const patterns = new ExcludePatterns(['vendor', '*.tpl.yaml', 'test/fixtures', './charts/*/templates/', 'docs/**/old.yaml']);
  for (const path of ['vendor', 'a/b/vendor', 'x.tpl.yaml', 'deploy/x.tpl.yaml', 'test/fixtures', 'charts/epp/templates', 'docs/old.yaml', 'docs/a/b/old.yaml']) {
    t.ok(patterns.excludes(path, `/elsewhere/${path}`), `${path} excluded`);
  }
  for (const path of ['vendors', 'deploy/x.yaml', 'a/test/fixtures', 'test/fixtures-2', 'charts/a/b/templates', 'docs/new.yaml', 'xtpl.yaml']) {
    t.notOk(patterns.excludes(path, `/elsewhere/${path}`), `${path} kept`);
  }
});

t.test('regular-expression characters in a pattern are literal', async (t) => {
  const patterns = new ExcludePatterns(['a+b(1).yaml']);
  t.ok(patterns.excludes('dir/a+b(1).yaml', '/elsewhere/dir/a+b(1).yaml'));
  t.notOk(patterns.excludes('dir/aab1.yaml', '/elsewhere/dir/aab1.yaml'));
});

t.test('no patterns, or empty ones, exclude nothing', async (t) => {
  t.notOk(new ExcludePatterns([]).excludes('anything', '/anything'));
  t.notOk(new ExcludePatterns(['', '/', './']).excludes('anything', '/anything'));
});

t.test('a path pattern also matches the path as typed: from the working directory, or absolute', async (t) => {
  const patterns = new ExcludePatterns(['test/fixtures', '/repo/deploy/helm/*/templates'], '/repo');
  t.ok(patterns.excludes('fixtures', '/repo/test/fixtures'), '`check test --exclude test/fixtures`: the searched directory is test');
  t.ok(patterns.excludes('epp/templates', '/repo/deploy/helm/epp/templates'), 'an absolute pattern, globs and all');
  t.notOk(patterns.excludes('fixtures', '/elsewhere/test/fixtures'), 'only under the working directory it was typed in');
  t.notOk(patterns.excludes('repo/deploy/helm/epp/templates', '/other/repo/deploy/helm/epp/templates'), 'an absolute pattern is no path from the searched directory');
  const oddDirectory = new ExcludePatterns(['test/fixtures'], '/work/a+b?');
  t.ok(oddDirectory.excludes('fixtures', '/work/a+b?/test/fixtures'), "the working directory's characters are taken as written");
  t.notOk(oddDirectory.excludes('fixtures', '/work/aab/test/fixtures'), 'not as a pattern');
});
