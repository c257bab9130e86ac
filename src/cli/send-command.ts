// `planasonix send`: signs a payload like `sign`, POSTs it, and reports what the receiver made of it:
// the correlation ID and the PipelineRun, then (with --wait) the run's phase as it changes.
import type { PipelineRun, RunPhase } from '../api/types.ts';
import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { RESOURCES } from '../kube/resources.ts';
import { parseDuration } from '../util/duration.ts';
import { COMMON_FLAGS, CommandError, UsageError, clientFrom, describeKubeFailure, namespaceFrom, requireFlag, runCommand, stringFlag } from './cli-args.ts';
import { SIGNING_FLAGS, SIGNING_FLAGS_HELP, loadTriggerCredentials, readPayload, signDelivery } from './trigger-credentials.ts';

const USAGE = `Usage: planasonix send --trigger NAME [-n NAMESPACE] --data FILE|- [--wait] [flags]

Signs the payload with the trigger's scheme and secret (read through your kubeconfig), POSTs it to
the trigger's URL, and prints the HTTP status, the correlation ID and the PipelineRun. Exits 1 when
the receiver answers anything but 2xx.

Flags:
${SIGNING_FLAGS_HELP}
  --wait                  then wait until the run is Running or finished, printing its phase;
                          exits 1 if it Failed or was Cancelled
  --timeout DURATION      how long --wait waits (default 2m), and the request's own time limit

Example:
  $ planasonix send --trigger export-completed -n data --data payload.json --wait
  HTTP 202 Accepted
  correlation ID: 0193f6c2-7b1e-7c3a-9f1d-2b8e4a6c0d11
  PipelineRun: data/export-completed-5f2c9a01b7
  phase: Pending (JobPending: waiting for the Job's pod to start)
  phase: Running (JobActive: …)
`;

interface ReceiverAnswer {
  correlationId?: string;
  pipelineRun?: { namespace?: string; name?: string };
  duplicate?: boolean;
  error?: string;
  message?: string;
  problems?: { path: string; message: string }[];
}

const SETTLED: ReadonlySet<RunPhase> = new Set<RunPhase>(['Running', 'Succeeded', 'Failed', 'Cancelled']);

export const SEND_FLAGS = { ...COMMON_FLAGS, ...SIGNING_FLAGS, wait: { type: 'boolean' }, timeout: { type: 'string' } } as const;

export async function sendCommand(argv: readonly string[]): Promise<number> {
  return runCommand('send', argv, { flags: SEND_FLAGS, usage: USAGE }, async (values) => {
    const name = requireFlag(values, 'trigger');
    const data = requireFlag(values, 'data');
    const timeoutMs = timeoutFrom(stringFlag(values, 'timeout'));
    const client = clientFrom(values);
    const namespace = namespaceFrom(values, client);
    const body = readPayload(data);
    const creds = await loadTriggerCredentials(client, namespace, name, stringFlag(values, 'url-override'));
    const request = signDelivery(creds, body, values);

    // Only the origin is ever shown: the path is the webhook's capability.
    const origin = new URL(request.url).origin;
    let response: Response;
    try {
      response = await fetch(request.url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(Math.min(timeoutMs, 60_000)),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = (e as Error).name === 'TimeoutError' ? 'no answer in time' : (cause?.code ?? cause?.message ?? (e as Error).message);
      throw new CommandError(`cannot reach the receiver at ${origin}: ${why}${stringFlag(values, 'url-override') ? '' : ' (with make dev, add --url-override "$RECEIVER_URL")'}`);
    }
    const text = await response.text();
    let answer: ReceiverAnswer = {};
    try {
      answer = JSON.parse(text) as ReceiverAnswer;
    } catch {
      // Not our receiver's JSON (a proxy's page, for example): the status line says enough.
    }
    process.stdout.write(`HTTP ${response.status} ${response.statusText}\n`);
    if (!response.ok) {
      const problems = (answer.problems ?? []).map((p) => `\n  ${p.path}: ${p.message}`).join('');
      process.stdout.write(answer.error ? `error: ${answer.error}: ${answer.message ?? ''}${problems}\n` : '');
      const retry = response.headers.get('retry-after');
      if (retry) process.stdout.write(`retry after: ${retry}s\n`);
      return 1;
    }
    const correlationId = answer.correlationId ?? response.headers.get('x-correlation-id') ?? '';
    process.stdout.write(`correlation ID: ${correlationId}\n`);
    const run = answer.pipelineRun;
    if (run?.name) {
      process.stdout.write(`PipelineRun: ${run.namespace ?? namespace}/${run.name}${answer.duplicate ? ' (a duplicate delivery: the run already existed)' : ''}\n`);
    }
    if (!values.wait) return 0;
    if (!run?.name) throw new CommandError('the receiver did not name a PipelineRun to wait for');
    return waitForRun(client, run.namespace ?? namespace, run.name, timeoutMs);
  });
}

/** Prints each new phase until the run is Running or finished; 1 for Failed, Cancelled or a timeout. */
async function waitForRun(client: KubeClient, namespace: string, name: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let shown = '';
  let last: PipelineRun | undefined;
  for (;;) {
    try {
      last = await client.get<PipelineRun>(RESOURCES.pipelineRuns, namespace, name);
    } catch (e) {
      if (!isNotFound(e)) throw describeKubeFailure(e, `reading PipelineRun "${name}"`, client);
    }
    const status = last?.status;
    const line = `phase: ${status?.phase ?? 'Pending'}${status?.reason ? ` (${status.reason}${status.message ? `: ${status.message}` : ''})` : ''}`;
    if (line !== shown) {
      process.stdout.write(`${line}\n`);
      shown = line;
    }
    if (status?.phase && SETTLED.has(status.phase)) return status.phase === 'Failed' || status.phase === 'Cancelled' ? 1 : 0;
    if (Date.now() >= deadline) throw new CommandError(`PipelineRun ${namespace}/${name} is still ${status?.phase ?? 'Pending'} after ${Math.round(timeoutMs / 1000)}s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function timeoutFrom(text: string | undefined): number {
  if (text === undefined) return 120_000;
  try {
    const ms = parseDuration(text);
    if (ms <= 0) throw new Error('it must be longer than zero');
    return ms;
  } catch (e) {
    throw new UsageError(`--timeout: ${(e as Error).message}`);
  }
}
