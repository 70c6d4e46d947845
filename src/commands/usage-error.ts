/**
 * A usage error is one line and a pointer to the help, not the whole help: the line is what the user has to read.
 * node:util parseArgs explains `--` separators at length after an unknown option; the first sentence says it all. Its
 * three lines for a value that starts with a dash (`--days -1`) are said in one.
 */
export function usageErrorText(command: string, message: string): string {
  const reason = message
    .replace(/^(Unknown option '[^']*')\. To specify a positional argument.*$/s, '$1')
    .replace(/^Option '([^']*)' argument is ambiguous\..*$/s, "$1 needs a value (one that starts with a dash is written $1=-…)");
  const name = command === '' ? 'epp-webhook' : `epp-webhook ${command}`;
  return `${name}: ${reason}\nRun "${name} --help" for usage.\n`;
}
