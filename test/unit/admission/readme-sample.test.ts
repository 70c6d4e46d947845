/**
 * The `kubectl apply` answer the README opens with is the webhook's: the same warnings in the same order, the same
 * denial, each line as shown (the README's `...` stand for text it leaves out).
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import type { AdmissionRequest } from '../../../src/admission/admission-review.ts';
import { admitRequest } from '../../../src/admission/admit-request.ts';
import { loadServicesFile } from '../../../src/cluster/static-resolver.ts';
import { DEFAULT_CONFIG } from '../../../src/config.ts';
import { admissionReview, manifest } from '../../helpers/fixtures.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const APPLY = '$ kubectl apply -f test/fixtures/manifests/wild/operator-sample-envoyfilter-epp.yaml';

/** Whether `shown` is `actual` with some stretches replaced by `...` (and the end cut after a trailing one). */
function shownAs(actual: string, shown: string): boolean {
  const pieces = shown.split('...').map((piece) => piece.trim()).filter((piece) => piece !== '');
  let from = 0;
  for (const [i, piece] of pieces.entries()) {
    const at = actual.indexOf(piece, from);
    if (at < 0 || (i === 0 && at !== 0)) return false;
    from = at + piece.length;
  }
  return shown.trimEnd().endsWith('...') || from === actual.length;
}

t.test("the README's opening kubectl apply shows what /validate answers for that manifest", async (t) => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const start = readme.indexOf(APPLY);
  t.ok(start > 0, 'the sample is there');
  const block = readme.slice(start, readme.indexOf('```', start)).split('\n').slice(1).filter((line) => line !== '');
  const shownWarnings = block.filter((line) => line.startsWith('Warning: ')).map((line) => line.slice('Warning: '.length));
  const shownDenial = block.filter((line) => line.startsWith('[EPP'));

  const review = admissionReview(manifest('wild/operator-sample-envoyfilter-epp.yaml'));
  const resolver = loadServicesFile(`${ROOT}examples/services.yaml`);
  const { verdict } = await admitRequest('validate', review.request as AdmissionRequest, { config: DEFAULT_CONFIG, resolver });
  t.same(shownWarnings.map((line) => line.slice(0, 8)), verdict.warnings.map((line) => line.slice(0, 8)), 'the same warnings, in order');
  shownWarnings.forEach((line, i) => t.ok(shownAs(verdict.warnings[i], line), `warning ${i + 1} as shown: ${line.slice(0, 60)}`));
  t.equal(verdict.allowed, false);
  const denial = (verdict.message ?? '').split('\n');
  t.match(block.join('\n'), `denied the request: ${denial[0]}`, "the denial's first line");
  t.same(shownDenial.map((line) => line.slice(0, 8)), denial.slice(1).map((line) => line.slice(0, 8)), 'the same problems, in order');
  shownDenial.forEach((line, i) => t.ok(shownAs(denial[i + 1], line), `problem line ${i + 1} as shown: ${line.slice(0, 60)}`));
});
