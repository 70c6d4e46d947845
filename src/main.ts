#!/usr/bin/env node
import { runBootstrapCertsCommand } from './commands/bootstrap-certs.ts';
import { runCertsCommand } from './commands/certs.ts';
import { runCheckCommand } from './commands/check.ts';
import { runRenderCommand } from './commands/render.ts';
import { runServeCommand } from './commands/serve.ts';

const USAGE = `Usage: epp-webhook <command> [options]

Commands:
  serve    run the admission webhook (HTTPS /mutate, /validate)
  certs    issue a CA and a serving certificate
  bootstrap-certs  install and rotate the certificates and caBundle in a cluster (deploy/overlays/self-signed)
  check    run the webhook's mutation and validation over manifests, offline
  render   print manifests as the webhook would store them

Run "epp-webhook <command> --help" for a command's options.
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
  if (name === undefined || name === '--help' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    process.stderr.write(`epp-webhook: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  return command(rest, process);
}

process.exitCode = await main(process.argv.slice(2));
