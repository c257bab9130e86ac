// Shell completion. `planasonix __complete WORDS… PARTIAL` answers in the protocol of cobra, which
// kubectl (1.26+) speaks to a plugin's `kubectl_complete-planasonix` executable: one candidate per
// line, then `:<directive>` (4: no file names; 0: the shell's default). `planasonix completion bash`
// prints a bash function over it (zsh loads it through bashcompinit), so `planasonix` and
// `kubectl-planasonix` complete the same way as `kubectl planasonix`.
import type { FlagSpec } from './cli-args.ts';

/** cobra's ShellCompDirective values. */
const DIRECTIVE = { default: 0, noFileComp: 4 } as const;

export const COMMAND_SUMMARIES: Readonly<Record<string, string>> = {
  run: 'run the operator',
  sign: 'print a signed curl command for a trigger',
  send: 'sign and post a payload to a trigger',
  status: "show a trigger or a delivery's runs",
  runs: 'list PipelineRuns',
  rerun: 'run a finished PipelineRun again',
  completion: 'print a shell completion script (bash, zsh)',
};

type Flags = Record<string, FlagSpec>;

/** Each command's flags, from the command's own module (loaded only when completing). */
async function flagsOf(command: string): Promise<Flags | undefined> {
  switch (command) {
    case 'sign':
      return (await import('./sign-command.ts')).SIGN_FLAGS;
    case 'send':
      return (await import('./send-command.ts')).SEND_FLAGS;
    case 'status':
      return (await import('./status-command.ts')).STATUS_FLAGS;
    case 'runs':
      return (await import('./runs-command.ts')).RUNS_FLAGS;
    case 'rerun':
      return (await import('./rerun-command.ts')).RERUN_FLAGS;
    case 'run': {
      const { CONFIG_OPTIONS } = await import('../config/config.ts');
      return Object.fromEntries([...CONFIG_OPTIONS.map((o) => [o.flag.replace(/^--/, ''), { type: 'string' } as FlagSpec]), ['help', { type: 'boolean', short: 'h' }]]);
    }
    case 'completion':
      return { help: { type: 'boolean', short: 'h' } };
    default:
      return undefined;
  }
}

const OUTPUT_FORMATS: Readonly<Record<string, readonly string[]>> = {
  status: ['wide', 'json', 'yaml'],
  runs: ['wide', 'json', 'yaml', 'name'],
  rerun: ['json', 'yaml', 'name'],
};

export async function completeCommand(argv: readonly string[]): Promise<number> {
  const words = argv.slice(0, -1);
  const partial = argv.at(-1) ?? '';
  const { candidates, directive } = await complete(words, partial).catch(() => ({ candidates: [] as string[], directive: DIRECTIVE.noFileComp }));
  process.stdout.write(candidates.filter((c) => c.startsWith(partial)).map((c) => `${c}\n`).join('') + `:${directive}\n`);
  return 0;
}

async function complete(words: readonly string[], partial: string): Promise<{ candidates: string[]; directive: number }> {
  const none = { candidates: [], directive: DIRECTIVE.noFileComp };
  if (words.length === 0) return { candidates: Object.keys(COMMAND_SUMMARIES), directive: DIRECTIVE.noFileComp };
  const [command, ...rest] = words;
  if (command === 'completion') return rest.length === 0 ? { candidates: ['bash', 'zsh'], directive: DIRECTIVE.noFileComp } : none;
  const flags = await flagsOf(command!);
  if (!flags) return none;

  const previous = rest.at(-1);
  const valueOf = previous !== undefined ? flagNamed(flags, previous) : undefined;
  if (valueOf && flags[valueOf]?.type === 'string') {
    switch (valueOf) {
      case 'output':
        return { candidates: [...(OUTPUT_FORMATS[command!] ?? [])], directive: DIRECTIVE.noFileComp };
      case 'kubeconfig':
      case 'data':
      case 'private-key':
        return { candidates: [], directive: DIRECTIVE.default }; // file names
      case 'context':
        return { candidates: (await kubeconfigOf(rest)).getContexts().map((c) => c.name), directive: DIRECTIVE.noFileComp };
      case 'namespace':
        return { candidates: await namesOf(rest, 'namespaces'), directive: DIRECTIVE.noFileComp };
      case 'trigger':
        return { candidates: await namesOf(rest, 'webhookTriggers'), directive: DIRECTIVE.noFileComp };
      default:
        return none;
    }
  }
  if (partial.startsWith('-')) {
    return { candidates: Object.keys(flags).map((f) => `--${f}`), directive: DIRECTIVE.noFileComp };
  }
  // The one positional argument there is: the run to rerun.
  if (command === 'rerun') return { candidates: await namesOf(rest, 'pipelineRuns'), directive: DIRECTIVE.noFileComp };
  return none;
}

/** The long name of a flag word (`-n`, `--namespace`), if it is one of the command's flags. */
function flagNamed(flags: Flags, word: string): string | undefined {
  if (word.startsWith('--')) return Object.hasOwn(flags, word.slice(2)) ? word.slice(2) : undefined;
  if (/^-[A-Za-z]$/.test(word)) return Object.entries(flags).find(([, spec]) => spec.short === word.slice(1))?.[0];
  return undefined;
}

/** A flag's value among the words typed so far. */
function typed(words: readonly string[], ...names: string[]): string | undefined {
  for (let i = words.length - 2; i >= 0; i--) if (names.includes(words[i]!)) return words[i + 1];
  return undefined;
}

async function kubeconfigOf(words: readonly string[]) {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  const file = typed(words, '--kubeconfig');
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}

/** Names from the API server, with the typed --kubeconfig, --context and -n; nothing when it cannot answer. */
async function namesOf(words: readonly string[], kind: 'namespaces' | 'webhookTriggers' | 'pipelineRuns'): Promise<string[]> {
  const { KubeClient } = await import('../kube/client.ts');
  const { RESOURCES } = await import('../kube/resources.ts');
  const kubeconfig = typed(words, '--kubeconfig');
  const context = typed(words, '--context');
  const client = KubeClient.fromDefault({ timeoutMs: 3_000, ...(kubeconfig ? { kubeconfig } : {}), ...(context ? { context } : {}) });
  const current = client.config.getContextObject(client.config.getCurrentContext());
  const namespace = kind === 'namespaces' ? undefined : (typed(words, '-n', '--namespace') ?? (current?.namespace || 'default'));
  const list = await client.list(RESOURCES[kind], namespace, { limit: 500 });
  return list.items.map((o) => o.metadata?.name ?? '').filter((n) => n !== '');
}

const BASH = `# bash completion for planasonix (and kubectl-planasonix), generated by 'planasonix completion bash'.
# Load it with: source <(planasonix completion bash)
_planasonix_complete() {
  local cur=\${COMP_WORDS[COMP_CWORD]} out directive
  local -a lines
  out=$("\${COMP_WORDS[0]}" __complete "\${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" 2>/dev/null) || return
  mapfile -t lines <<< "$out"
  directive=\${lines[-1]#:}
  unset 'lines[-1]'
  COMPREPLY=()
  local line
  for line in "\${lines[@]}"; do [[ -n $line && $line == "$cur"* ]] && COMPREPLY+=("$line"); done
  if [[ \${#COMPREPLY[@]} -eq 0 && $directive == 0 ]]; then
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}
complete -F _planasonix_complete planasonix kubectl-planasonix
`;

const USAGE = `Usage:
  planasonix completion bash|zsh

Prints a shell completion script: commands, flags, -o formats, contexts, and namespaces, triggers
and runs read from the API server.

  bash:  source <(planasonix completion bash)         # e.g. in ~/.bashrc
  zsh:   source <(planasonix completion zsh)          # e.g. in ~/.zshrc
  kubectl planasonix <TAB> (kubectl 1.26+) uses bin/kubectl_complete-planasonix: keep it on PATH
  next to bin/kubectl-planasonix.
`;

export async function completionCommand(argv: readonly string[]): Promise<number> {
  const [shell, ...rest] = argv;
  if (shell === '--help' || shell === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (rest.length > 0 || (shell !== 'bash' && shell !== 'zsh')) {
    process.stderr.write(`planasonix completion: give the shell, bash or zsh (see 'planasonix completion --help')\n`);
    return 2;
  }
  process.stdout.write(shell === 'bash' ? BASH : `# zsh completion for planasonix, through bash's completion functions\nautoload -U +X bashcompinit && bashcompinit\n${BASH}`);
  return 0;
}
