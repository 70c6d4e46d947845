import { parseArgs } from 'node:util';
import { ConfigError } from '../config.ts';
import { ServiceSourceError } from '../manifests/service-source.ts';
import type { CheckResults } from '../report/check-results.ts';
import { jsonReport } from '../report/json-report.ts';
import { sarifReport } from '../report/sarif-report.ts';
import { nothingCheckedLine, problemLine, textReport } from '../report/text-report.ts';
import { MANIFEST_OPTIONS, manifestOptionsHelp, manifestSettings, kubectlArguments, runManifests, UsageError, type ManifestCommandIo, type ManifestRun, type ManifestSettings } from './manifest-options.ts';
import { usageErrorText } from './usage-error.ts';

const USAGE = `Usage: epp-webhook check [options] [PATH ...|-]

Runs the webhook's mutation and then its validation over every EnvoyFilter, HTTPRoute and DestinationRule in the
manifests (List items too), offline, and reports what the API server would answer.
Exit status: 0 every object would be admitted, 1 an object would be denied (or warned about, with
--warnings-as-errors), 2 unusable input, bad usage, or nothing checked with --fail-on-empty.

${manifestOptionsHelp('check')}
  -o, --output FORMAT   text (default), json, or sarif (SARIF 2.1.0 for GitHub code scanning)
  --warnings-as-errors  exit 1 when any object gets a warning
  --fail-on-empty       exit 2 when no EnvoyFilter, HTTPRoute or DestinationRule was found (a warning otherwise)
  -h, --help            show this help
`;

const OUTPUTS = ['text', 'json', 'sarif'] as const;
type Output = (typeof OUTPUTS)[number];

/** `epp-webhook check`: resolves with the exit code. */
export async function runCheckCommand(argv: string[], io: ManifestCommandIo): Promise<number> {
  let settings: ManifestSettings;
  let output: Output;
  let warningsAsErrors: boolean;
  let failOnEmpty: boolean;
  try {
    const { values, positionals } = parseArgs({
      args: kubectlArguments(argv),
      strict: true,
      allowPositionals: true,
      options: { ...MANIFEST_OPTIONS, 'warnings-as-errors': { type: 'boolean', default: false }, 'fail-on-empty': { type: 'boolean', default: false } },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    output = (values.output ?? 'text') as Output;
    if (!OUTPUTS.includes(output)) throw new UsageError(`--output must be text, json or sarif (got ${JSON.stringify(values.output)})`);
    warningsAsErrors = values['warnings-as-errors'];
    failOnEmpty = values['fail-on-empty'];
    settings = manifestSettings(values, positionals, io);
  } catch (error) {
    io.stderr.write(usageErrorText('check', (error as Error).message));
    return 2;
  }

  let run: ManifestRun;
  try {
    run = await runManifests(settings, io);
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof ServiceSourceError)) throw error;
    io.stderr.write(`epp-webhook check: ${error.message}\n`);
    return 2;
  }

  const results: CheckResults = { objects: run.documents.flatMap((d) => d.objects), problems: run.problems, skipped: run.skipped, files: run.files };
  if (output === 'text') io.stdout.write(textReport(results));
  else {
    io.stdout.write(output === 'json' ? jsonReport(results) : sarifReport(results, run.config.severities));
    // The report goes to a file or an uploader; the CI log still has to say why the run failed.
    for (const problem of results.problems) io.stderr.write(`${problemLine(problem)}\n`);
  }
  // Unusable input is an error of its own (exit 2): a missing file or broken YAML is not "no EnvoyFilter in the input".
  const nothingChecked = results.objects.length === 0 && results.problems.length === 0;
  if (nothingChecked) io.stderr.write(`${nothingCheckedLine(results, failOnEmpty)}\n`);
  if (nothingChecked && failOnEmpty) return 2;
  return exitCode(results, warningsAsErrors);
}

function exitCode(results: CheckResults, warningsAsErrors: boolean): number {
  if (results.problems.length > 0) return 2;
  if (results.objects.some((o) => !o.admitted)) return 1;
  if (warningsAsErrors && results.objects.some((o) => o.findings.some((f) => f.severity === 'warn'))) return 1;
  return 0;
}
