// `planasonix rerun RUN`: asks the run controller for a rerun by annotating the run (as
// `kubectl annotate` or a GitOps change would), waits for the controller's answer on the run, and
// prints the new run. One path for every way of asking, so the rules (refused while active unless
// forced, each request acted on once) live in the controller alone.
import { randomBytes } from 'node:crypto';
import type { PipelineRun } from '../api/types.ts';
import { ANNOTATIONS } from '../api/constants.ts';
import { RESOURCES } from '../kube/resources.ts';
import { parseDuration } from '../util/duration.ts';
import { COMMON_FLAGS, CommandError, UsageError, clientFrom, describeKubeFailure, namespaceFrom, runCommand, getNamed, stringFlag } from './cli-args.ts';
import { OUTPUT_FLAG, OUTPUT_HELP, formatObjects, outputFormatFrom, qualifiedName } from './output.ts';

const RESOURCE = 'pipelinerun.planasonix.io';
const ACTIVE = new Set(['Pending', 'Running', undefined]);

const USAGE = `Usage:
  planasonix rerun RUN [-n NAMESPACE] [--force] [--timeout 60s] [-o name|json|yaml]

Creates a new PipelineRun with the same params and sensitive params as RUN, labelled with RUN's
correlation ID (planasonix.io/correlation-id) and pointing at it (spec.rerunOf, label
planasonix.io/rerun-of). RUN must have finished, unless --force. The operator does the work: this
command sets the annotation planasonix.io/rerun-requested-at on RUN (as
'kubectl annotate pipelinerun RUN planasonix.io/rerun-requested-at=<new value>' would) and waits
for the operator's answer. Needs get and patch on pipelineruns.planasonix.io.

Flags:
  -n, --namespace NS      the run's namespace (default: the kubeconfig context's, else "default")
  --force                 rerun even though RUN is still Pending or Running
  --timeout DURATION      how long to wait for the operator (default 60s)
${OUTPUT_HELP.replace('json, yaml, name or wide', 'json, yaml or name: the new run')}
  --kubeconfig PATH       the kubeconfig to use (default: $KUBECONFIG, ~/.kube/config)
  --context NAME          the kubeconfig context to use
  -h, --help              show this help

Example:
  $ planasonix rerun export-completed-5f2c9a01b7c4d3e2 -n data
  pipelinerun.planasonix.io/export-completed-5f2c9a01b7c4d3e2-r1f0c9a2b created (rerun of export-completed-5f2c9a01b7c4d3e2, correlation ID 0193f6c2-7b1e-7c3a-9f1d-2b8e4a6c0d11)
`;

export const RERUN_FLAGS = { ...COMMON_FLAGS, ...OUTPUT_FLAG, force: { type: 'boolean' }, timeout: { type: 'string' } } as const;

export async function rerunCommand(argv: readonly string[]): Promise<number> {
  return runCommand('rerun', argv, { flags: RERUN_FLAGS, usage: USAGE, maxPositionals: 1 }, async (values, positionals) => {
    const name = positionals[0];
    if (!name) throw new UsageError('give the PipelineRun to rerun (planasonix rerun RUN)');
    const format = outputFormatFrom(values, ['table', 'json', 'yaml', 'name']);
    let timeoutMs: number;
    try {
      timeoutMs = parseDuration(stringFlag(values, 'timeout') ?? '60s');
    } catch (e) {
      throw new UsageError(`--timeout: ${(e as Error).message}`);
    }
    const force = values.force === true;
    const client = clientFrom(values);
    const namespace = namespaceFrom(values, client);

    const run = await getNamed<PipelineRun>(client, RESOURCES.pipelineRuns, namespace, name);
    // Checked here for a clear answer at once; the controller checks again when it acts.
    if (ACTIVE.has(run.status?.phase) && !force) {
      throw new CommandError(`PipelineRun "${name}" is still ${run.status?.phase ?? 'Pending'}: rerun it once it has finished, or use --force`);
    }

    const request = `${new Date().toISOString()}/${randomBytes(3).toString('hex')}`;
    try {
      await client.mergePatch(RESOURCES.pipelineRuns, namespace, name, {
        metadata: { annotations: { [ANNOTATIONS.rerunRequestedAt]: request, [ANNOTATIONS.rerunForce]: force ? 'true' : null } },
      });
    } catch (e) {
      throw describeKubeFailure(e, `annotating PipelineRun "${name}"`, client);
    }

    const answered = await waitForAnswer(async () => {
      const current = await client.get<PipelineRun>(RESOURCES.pipelineRuns, namespace, name);
      return current.metadata.annotations?.[ANNOTATIONS.rerunHandled] === request ? current : undefined;
    }, timeoutMs).catch((e: unknown) => {
      throw describeKubeFailure(e, `reading PipelineRun "${name}"`, client);
    });
    if (!answered) {
      throw new CommandError(
        `the operator did not act on the rerun request within ${stringFlag(values, 'timeout') ?? '60s'} (is it running?); the request stays on the run (annotation ${ANNOTATIONS.rerunRequestedAt}) and is acted on once it does`,
      );
    }
    const refused = answered.metadata.annotations?.[ANNOTATIONS.rerunRefused];
    const rerunName = answered.metadata.annotations?.[ANNOTATIONS.lastRerun];
    if (refused !== undefined || !rerunName) throw new CommandError(`the operator refused to rerun "${name}": ${refused ?? 'no reason given'}`);

    const rerun = await client.get<PipelineRun>(RESOURCES.pipelineRuns, namespace, rerunName).catch((e: unknown) => {
      throw describeKubeFailure(e, `reading the rerun "${rerunName}"`, client);
    });
    if (format === 'json' || format === 'yaml') process.stdout.write(formatObjects([rerun], format, false));
    else if (format === 'name') process.stdout.write(`${qualifiedName(RESOURCE, rerun)}\n`);
    else process.stdout.write(`${qualifiedName(RESOURCE, rerun)} created (rerun of ${name}, correlation ID ${rerun.spec.correlationId})\n`);
    return 0;
  });
}

/** Polls until `check` answers or the time is up (undefined). A CLI waiting on another process. */
async function waitForAnswer<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await check();
    if (answer !== undefined) return answer;
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, 250));
  }
}
