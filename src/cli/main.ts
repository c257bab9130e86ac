#!/usr/bin/env node
// The one entry point: `planasonix <command>`. Each command lives in its own module.

const USAGE = `planasonix — start data pipelines from signed webhooks

Usage:
  planasonix run [flags]        run the operator (controllers and receiver; see --components)
  planasonix sign [flags]       print a curl command with a valid signature for a trigger
  planasonix send [flags]       sign and post a payload, then print the correlation ID and PipelineRun
  planasonix status [flags]     show a trigger's URL Secret, rotation and deliveries, or a run by correlation ID
  planasonix runs [flags]       list PipelineRuns (-n or -A, -o wide|json|yaml|name)
  planasonix rerun RUN [flags]  run a finished PipelineRun again with the same params (a new run, same correlation ID)
  planasonix completion SHELL   print a completion script for bash or zsh

Every command that reads the cluster takes --kubeconfig, --context and -n as kubectl does. Installed
as the kubectl plugin kubectl-planasonix (bin/), it also runs as 'kubectl planasonix <command>'.

Run 'planasonix <command> --help' for the flags of a command.
`;

type Command = (argv: readonly string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run-command.ts')).runCommand,
  sign: async () => (await import('./sign-command.ts')).signCommand,
  send: async () => (await import('./send-command.ts')).sendCommand,
  status: async () => (await import('./status-command.ts')).statusCommand,
  runs: async () => (await import('./runs-command.ts')).runsCommand,
  rerun: async () => (await import('./rerun-command.ts')).rerunCommand,
  completion: async () => (await import('./completion-command.ts')).completionCommand,
  __complete: async () => (await import('./completion-command.ts')).completeCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`planasonix: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
