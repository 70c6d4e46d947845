import { isAbsolute, normalize, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RULES, type RuleCode, type SeverityOverrides } from '../findings.ts';
import { STDIN_NAME, type InputProblem } from '../manifests/read-manifests.ts';
import { objectLabel, type CheckResults } from './check-results.ts';

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
            toolExecutionNotifications: results.problems.map(notification),
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
            properties: { document: object.document, ...(object.at.length === 2 ? { item: object.at[1] } : {}), object: objectLabel(object), path: finding.path },
          })),
        ),
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
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

/** A relative URI for a path relative to the working directory (the repository root in CI), a file: URI otherwise. */
function artifactLocation(file: string): { uri: string; description?: { text: string } } {
  if (file === STDIN_NAME) return { uri: 'stdin', description: { text: 'standard input' } };
  if (isAbsolute(file)) return { uri: pathToFileURL(file).href };
  return { uri: normalize(file).split(sep).map(encodeURIComponent).join('/') };
}
