#!/usr/bin/env node
import { runBootstrapCertsCommand } from './commands/bootstrap-certs.ts';
import { runCertsCommand } from './commands/certs.ts';
import { runCheckCommand } from './commands/check.ts';
import { runRenderCommand } from './commands/render.ts';
import { runServeCommand } from './commands/serve.ts';
import { usageErrorText } from './commands/usage-error.ts';
import { packageJson } from './package-json.ts';


const USAGE = `Usage: epp-webhook <command> [options]

Commands:
  serve            run the admission webhook (HTTPS /mutate, /validate)
  certs            issue a CA and a serving certificate
  bootstrap-certs  install and rotate the certificates and caBundle in a cluster (deploy/overlays/self-signed)
  check            run the webhook's mutation and validation over manifests, offline
  render           print manifests as the webhook would store them

Options:
  -h, --help       show this help
  --version        print the version

Run "epp-webhook <command> --help" (or "epp-webhook help <command>") for a command's options.
`;

const commands: Record<string, (argv: string[], io: typeof process) => Promise<number>> = {
  serve: runServeCommand,
  certs: runCertsCommand,
  'bootstrap-certs': runBootstrapCertsCommand,
  check: runCheckCommand,
  render: runRenderCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  // `help check`, as git and kubectl read it: that command's own help.
  if (name === 'help' && rest.length === 1 && Object.hasOwn(commands, rest[0])) return commands[rest[0]](['--help'], process);
  const topLevel = name === '--help' || name === '-h' || name === 'help' || name === '--version' || name === 'version';
  if (topLevel && rest.length > 0) {
    process.stderr.write(usageErrorText('', `${name} takes no arguments (got ${rest.map((arg) => JSON.stringify(arg)).join(' ')})`));
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`${packageJson().version}\n`);
    return 0;
  }
  // Own keys only: `epp-webhook toString` is an unknown command, not Object.prototype's function.
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    process.stderr.write(usageErrorText('', `unknown command "${name}"`));
    return 2;
  }
  return command(rest, process);
}

// A reader that stops early (`render ... | head -1`) closes the pipe: end quietly instead of with a stack trace from the
// next write, with the command's own code once it has one (the write fails after the last line), else the shell's for
// a process SIGPIPE ended (128 + 13).
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 141);
});
// Its warnings' reader gone (`render ... 2>&1 >out.yaml | head -1`), the command still writes its whole output and
// ends with its own code: the lines left for stderr have no reader, and nothing else is wrong.
process.stderr.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
});

process.exitCode = await main(process.argv.slice(2));
