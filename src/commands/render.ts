import { parseArgs } from 'node:util';
import { ConfigError } from '../config.ts';
import type { AdmittedDocument } from '../manifests/admit-manifests.ts';
import { namesApiVersionAndKind } from '../manifests/read-manifests.ts';
import { renderYamlDocument } from '../manifests/render-document.ts';
import { ServiceSourceError } from '../manifests/service-source.ts';
import { findingLine, problemLine, skippedLine } from '../report/text-report.ts';
import { MANIFEST_OPTIONS, manifestOptionsHelp, manifestSettings, kubectlArguments, runManifests, UsageError, type ManifestCommandIo, type ManifestSettings } from './manifest-options.ts';
import { usageErrorText } from './usage-error.ts';

const USAGE = `Usage: epp-webhook render [options] [PATH ...|-]

Prints the manifests as the API server would store them after the webhook: the EPP ClusterIP
substituted for the placeholder, the ExtensionRef injected into HTTPRoutes. DestinationRules (judged, never
changed) and documents of other kinds pass through unchanged and in order; comments survive where the document allows. Documents with no
apiVersion and kind (a values file, Chart.yaml) are left out, with a note on stderr.
Objects the webhook would deny are left out (List items dropped), with the denial on stderr.
Warnings go to stderr. Exit status: 0 all rendered, 1 an object was denied and left out,
2 unusable input or bad usage (nothing is rendered).

${manifestOptionsHelp('render')}
  -o, --output FORMAT   yaml (default; documents separated by ---) or json (one JSON document per
                        input document, a stream jq and kubectl read)
  -h, --help            show this help
`;

const OUTPUTS = ['yaml', 'json'] as const;
type Output = (typeof OUTPUTS)[number];

/** `epp-webhook render`: resolves with the exit code. */
export async function runRenderCommand(argv: string[], io: ManifestCommandIo): Promise<number> {
  let settings: ManifestSettings;
  let output: Output;
  try {
    const { values, positionals } = parseArgs({ args: kubectlArguments(argv), strict: true, allowPositionals: true, options: MANIFEST_OPTIONS });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    output = (values.output ?? 'yaml') as Output;
    if (!OUTPUTS.includes(output)) throw new UsageError(`--output must be yaml or json (got ${JSON.stringify(values.output)})`);
    settings = manifestSettings(values, positionals, io);
  } catch (error) {
    io.stderr.write(usageErrorText('render', (error as Error).message));
    return 2;
  }

  let documents: AdmittedDocument[];
  try {
    const run = await runManifests(settings, io);
    if (run.problems.length > 0) {
      // Half a rendering applied by a pipeline would be worse than none.
      for (const problem of run.problems) io.stderr.write(`${problemLine(problem)}\n`);
      io.stderr.write(`epp-webhook render: nothing rendered: fix the input above\n`);
      return 2;
    }
    for (const skipped of run.skipped) if (skipped.reason === 'helm-template') io.stderr.write(`${skippedLine(skipped)}\n`);
    documents = run.documents;
    // An empty rendering is valid output (a kustomize build of nothing), but a pipeline fed the wrong path should hear of it.
    if (documents.length === 0) io.stderr.write(`epp-webhook render: warning: nothing rendered: no Kubernetes document in the input (${run.files} file${run.files === 1 ? '' : 's'} read)\n`);
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof ServiceSourceError)) throw error;
    io.stderr.write(`epp-webhook render: ${error.message}\n`);
    return 2;
  }

  let denied = 0;
  for (const document of documents) {
    for (const object of document.objects) {
      for (const finding of object.findings) io.stderr.write(`${findingLine(object, finding)}\n`);
      if (!object.admitted) denied++;
    }
    if (document.stored === undefined) continue;
    if (!namesApiVersionAndKind(document.source.object)) {
      // A values file, a Chart.yaml, a package.json: check passes over them, and kubectl apply would refuse them.
      io.stderr.write(`${document.source.file}:${document.source.line}: note: document ${document.source.document} left out: no apiVersion and kind, not a Kubernetes object\n`);
      continue;
    }
    io.stdout.write(
      output === 'yaml'
        ? renderYamlDocument(document.source.yaml, document.patch, document.stored)
        : `${JSON.stringify(document.stored, null, 2)}\n`,
    );
  }
  if (denied > 0) {
    io.stderr.write(`epp-webhook render: ${denied} object${denied === 1 ? '' : 's'} would be denied by the webhook and ${denied === 1 ? 'was' : 'were'} left out\n`);
    return 1;
  }
  return 0;
}
