// What every user command shares: flag parsing with one-line errors, the two kinds of failure and
// their exit codes, and the kubeconfig-derived defaults (client, namespace) kubectl users expect.
import { parseArgs } from 'node:util';
import { KubeClient } from '../kube/client.ts';
import { isKubeError, isNotFound } from '../kube/errors.ts';
import type { ResourceType } from '../kube/resources.ts';
import type { KubeObject } from '../kube/client.ts';
import { closestFlag } from '../util/closest-flag.ts';

/** The command line was wrong: exit code 2, and a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The command was right but did not work (not found, unreachable, rejected): exit code 1. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/** Flags every user command accepts. */
export const COMMON_FLAGS = {
  help: { type: 'boolean', short: 'h' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
} as const satisfies Record<string, FlagSpec>;

/**
 * Parses argv strictly. node:util's messages are multi-line and speak of "options"; turn them into
 * one line that names the offending flag, as a user reads them in a terminal.
 */
export function parseFlags(argv: readonly string[], options: Record<string, FlagSpec>): FlagValues {
  return parseCommandLine(argv, options, 0).values;
}

/** Parses flags and up to `maxPositionals` arguments (a run's name, say), anywhere on the line as kubectl allows. */
export function parseCommandLine(argv: readonly string[], options: Record<string, FlagSpec>, maxPositionals: number): { values: FlagValues; positionals: string[] } {
  let parsed: { values: FlagValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: maxPositionals > 0 }) as { values: FlagValues; positionals: string[] };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const message = err.message ?? String(e);
    const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
    const flag = /--[\w-]+/.exec(quoted)?.[0] ?? quoted;
    switch (err.code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
        const suggestion = closestFlag(quoted.replace(/^-+/, '').split('=')[0] ?? '', Object.keys(options));
        throw new UsageError(`unknown flag ${quoted}${suggestion ? `; did you mean --${suggestion}?` : ''}`);
      }
      case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
        throw new UsageError(`unexpected argument "${quoted}" (every value follows a flag)`);
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
        if (message.includes('does not take an argument')) throw new UsageError(`${flag} takes no value`);
        throw new UsageError(`${flag} needs a value`);
      default:
        throw new UsageError(message.split('\n', 1)[0]!);
    }
  }
  if (parsed.positionals.length > maxPositionals) throw new UsageError(`unexpected argument "${parsed.positionals[maxPositionals]}"`);
  return parsed;
}

/** Returns the flag's value, or throws a usage error naming it. */
export function requireFlag(values: FlagValues, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

export function stringFlag(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * A client from --kubeconfig, else $KUBECONFIG, ~/.kube/config or the in-cluster account, as kubectl
 * does; --context picks another context of that kubeconfig.
 */
export function clientFrom(values: FlagValues): KubeClient {
  const kubeconfig = stringFlag(values, 'kubeconfig');
  const context = stringFlag(values, 'context');
  try {
    return KubeClient.fromDefault({ ...(kubeconfig ? { kubeconfig } : {}), ...(context !== undefined ? { context } : {}) });
  } catch (e) {
    throw new CommandError(`cannot load the kubeconfig${kubeconfig ? ` ${kubeconfig}` : ''}: ${(e as Error).message}`);
  }
}

/** -n, else the current context's namespace, else "default", as kubectl does. */
export function namespaceFrom(values: FlagValues, client: KubeClient): string {
  const flag = stringFlag(values, 'namespace');
  if (flag) return flag;
  const context = client.config.getContextObject(client.config.getCurrentContext());
  return context?.namespace || 'default';
}

/** Rewords an API failure for a terminal: what was asked, and why it failed. */
export function describeKubeFailure(e: unknown, what: string, client: KubeClient): CommandError {
  if (e instanceof CommandError) return e;
  if (isKubeError(e)) {
    if (e.status === 0) return new CommandError(`${what}: cannot reach the API server at ${client.server}: ${e.message} (check KUBECONFIG or --kubeconfig)`);
    if (e.status === 401) return new CommandError(`${what}: the API server did not accept the kubeconfig's credentials`);
    return new CommandError(`${what}: ${e.message}`);
  }
  return new CommandError(`${what}: ${e instanceof Error ? e.message : String(e)}`);
}

/**
 * Runs a command body and turns its failures into exit codes: 2 for usage errors (with a pointer to
 * --help), 1 for everything else, each as one line on stderr.
 */
/**
 * A `planasonix` command: parse its flags (and up to `maxPositionals` arguments), answer --help with
 * its usage, then run it; runCli turns what it throws into an exit code.
 */
export function runCommand(
  name: string,
  argv: readonly string[],
  command: { flags: Record<string, FlagSpec>; usage: string; maxPositionals?: number },
  body: (values: FlagValues, positionals: string[]) => Promise<number>,
): Promise<number> {
  return runCli(name, async () => {
    const { values, positionals } = parseCommandLine(argv, command.flags, command.maxPositionals ?? 0);
    if (values.help) {
      process.stdout.write(command.usage);
      return 0;
    }
    return body(values, positionals);
  });
}

export async function runCli(name: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`planasonix ${name}: ${e.message} (see 'planasonix ${name} --help')\n`);
      return 2;
    }
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`planasonix ${name}: ${message}\n`);
    return 1;
  }
}

/** The named object, or a CommandError that says it is not in the namespace (or why it could not be read). */
export async function getNamed<T extends KubeObject>(client: KubeClient, r: ResourceType, namespace: string, name: string): Promise<T> {
  try {
    return await client.get<T>(r, namespace, name);
  } catch (e) {
    if (isNotFound(e)) throw new CommandError(`${r.kind} "${name}" not found in namespace "${namespace}"`);
    throw describeKubeFailure(e, `reading ${r.kind} "${name}"`, client);
  }
}
