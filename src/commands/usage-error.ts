/**
 * A usage error is one line and a pointer to the help, not the whole help: the line is what the user has to read.
 * node:util parseArgs explains `--` separators at length after an unknown option; the first sentence says it all.
 */
export function usageErrorText(command: string, message: string): string {
  const reason = message.replace(/^(Unknown option '[^']*')\. To specify a positional argument.*$/s, '$1');
  const name = command === '' ? 'epp-webhook' : `epp-webhook ${command}`;
  return `${name}: ${reason}\nRun "${name} --help" for usage.\n`;
}
