/**
 * A usage error is one line and a pointer to the help, not the whole help: the line is what the user has to read.
 * node:util parseArgs explains `--` separators at length after an unknown option; the first sentence says it all. Its
 * message for a value that starts with a dash (`--days -1`) spans three lines: they are joined into one.
 */
export function usageErrorText(command: string, message: string): string {
  const reason = message.replace(/^(Unknown option '[^']*')\. To specify a positional argument.*$/s, '$1').replace(/\.?\n+/g, '; ');
  const name = command === '' ? 'epp-webhook' : `epp-webhook ${command}`;
  return `${name}: ${reason}\nRun "${name} --help" for usage.\n`;
}
