import { isAbsolute, normalize, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RULES, type RuleCode, type SeverityOverrides } from '../findings.ts';
import { STDIN_NAME, type InputProblem, type SkippedInput } from '../manifests/read-manifests.ts';
import type { AdmittedObject } from '../manifests/admit-manifests.ts';
import { packageJson } from '../package-json.ts';
import { helmTemplates, objectLabel, type CheckResults } from './check-results.ts';

const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
const RULE_CODES = Object.keys(RULES) as RuleCode[];

/**
 * SARIF 2.1.0, for GitHub code scanning and other CI annotators: one result per finding at the line of the offending
 * field; input that could not be read is a tool execution notification (and makes the run unsuccessful).
 */
export function sarifReport(results: CheckResults, severities: SeverityOverrides): string {
  const log = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'epp-webhook',
            // Which rules judged: a code's meaning and default severity can change between versions.
            version: packageJson().version,
            rules: RULE_CODES.map((code) => ({
              id: code,
              shortDescription: { text: RULES[code].title },
              defaultConfiguration: ruleConfiguration(severities[code] ?? RULES[code].severity),
            })),
          },
        },
        invocations: [
          {
            executionSuccessful: results.problems.length === 0,
            toolExecutionNotifications: [...results.problems.map(notification), ...helmTemplates(results).map(templateNotification)],
          },
        ],
        results: results.objects.flatMap((object) =>
          object.findings.map((finding) => ({
            ruleId: finding.code,
            ruleIndex: RULE_CODES.indexOf(finding.code),
            level: finding.severity === 'deny' ? 'error' : 'warning',
            message: { text: `${finding.message}. Fix: ${finding.fix}` },
            locations: [
              {
                physicalLocation: { artifactLocation: artifactLocation(object.file), region: { startLine: finding.line } },
                logicalLocations: [{ name: finding.path, fullyQualifiedName: `${objectLabel(object)} ${finding.path}` }],
              },
            ],
            properties: {
              document: object.document,
              ...(object.at.length === 2 ? { item: object.at[1] } : {}),
              object: objectLabel(object),
              path: finding.path,
              ...judgementProperty(object, finding.path),
            },
          })),
        ),
        // Whether each ext_proc config was judged to talk to an EPP, and why: also for configs without findings.
        properties: {
          extProc: results.objects.flatMap((object) =>
            object.extProc.map((j) => ({ object: objectLabel(object), uri: artifactLocation(object.file).uri, line: j.line, path: j.path, talksToEpp: j.talksToEpp, evidence: j.evidence, reason: j.reason })),
          ),
        },
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}

/** The judgement of the ext_proc config a finding sits in, if it sits in one. */
function judgementProperty(object: AdmittedObject, path: string): { extProc?: { talksToEpp: boolean; evidence: string; reason: string } } {
  const judgement = object.extProc.find((j) => path === j.path || path.startsWith(`${j.path}.`) || path.startsWith(`${j.path}[`));
  return judgement === undefined ? {} : { extProc: { talksToEpp: judgement.talksToEpp, evidence: judgement.evidence, reason: judgement.reason } };
}

function ruleConfiguration(severity: string): { level: string } | { enabled: false } {
  if (severity === 'off') return { enabled: false };
  return { level: severity === 'deny' ? 'error' : 'warning' };
}

function notification(problem: InputProblem) {
  const region = problem.line === undefined ? undefined : { startLine: problem.line, ...(problem.column === undefined ? {} : { startColumn: problem.column }) };
  return {
    level: 'error',
    message: { text: problem.message },
    locations: [{ physicalLocation: { artifactLocation: artifactLocation(problem.file), ...(region === undefined ? {} : { region }) } }],
  };
}

/** A Helm template is not checked: said as a note, so the run stays successful. */
function templateNotification(template: SkippedInput) {
  return {
    level: 'note',
    message: { text: template.message },
    locations: [{ physicalLocation: { artifactLocation: artifactLocation(template.file), ...(template.line === undefined ? {} : { region: { startLine: template.line } }) } }],
  };
}

/** A relative URI for a path relative to the working directory (the repository root in CI), a file: URI otherwise. */
function artifactLocation(file: string): { uri: string; description?: { text: string } } {
  if (file === STDIN_NAME) return { uri: 'stdin', description: { text: 'standard input' } };
  if (isAbsolute(file)) return { uri: pathToFileURL(file).href };
  return { uri: normalize(file).split(sep).map(encodeURIComponent).join('/') };
}
