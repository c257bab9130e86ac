// `planasonix status`: what a user asks after setting up or calling a webhook — is the trigger
// serving, where is its URL, when does its secret rotate, what happened to my delivery — in one
// command, without decoding Secrets or writing label selectors.
import { targetsOf } from '../api/targets.ts';
import type { V1Secret } from '@kubernetes/client-node';
import type { Condition, ParamMapping, PipelineRun, WebhookTrigger } from '../api/types.ts';
import { ANNOTATIONS, CONDITION_TYPES, LABELS } from '../api/constants.ts';
import type { KubeClient } from '../kube/client.ts';
import { RESOURCES } from '../kube/resources.ts';
import { COMMON_FLAGS, CommandError, UsageError, clientFrom, describeKubeFailure, namespaceFrom, runCommand, getNamed, stringFlag, type FlagValues } from './cli-args.ts';
import { OUTPUT_FLAG, formatObjects, outputFormatFrom, type OutputFormat } from './output.ts';

const USAGE = `Usage:
  planasonix status --trigger NAME [-n NAMESPACE] [--show-url] [-o wide|json|yaml]
  planasonix status --correlation-id ID [-n NAMESPACE | -A] [-o wide|json|yaml]

With --trigger: the trigger's Ready condition, where its URL and signing secret are kept, its
rotation schedule, its last delivery and its delivery counts.
With --correlation-id: the PipelineRun of that delivery — phase, reason, start, completion, Job.

Flags:
  --trigger NAME          the WebhookTrigger to describe
  --correlation-id ID     the delivery's correlation ID (the receiver's answer, header X-Correlation-ID)
  -n, --namespace NS      the namespace (default: the kubeconfig context's, else "default")
  -A, --all-namespaces    with --correlation-id: search every namespace
  --show-url              with --trigger: print the webhook URL itself (it is a credential: anyone
                          holding it and the signing secret can start the pipeline)
  -o, --output FORMAT     wide (more fields: params, filter, trace, rerun), or json or yaml (the
                          object itself; the runs as a v1 List)
  --kubeconfig PATH       the kubeconfig to use (default: $KUBECONFIG, ~/.kube/config)
  --context NAME          the kubeconfig context to use
  -h, --help              show this help

Example:
  $ planasonix status --trigger export-completed -n data
  WebhookTrigger data/export-completed
    Ready:          True (Serving) accepting deliveries for Pipeline export-loader
    ...
`;

export const STATUS_FLAGS = {
  ...COMMON_FLAGS,
  ...OUTPUT_FLAG,
  trigger: { type: 'string' },
  'correlation-id': { type: 'string' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  'show-url': { type: 'boolean' },
} as const;

export async function statusCommand(argv: readonly string[]): Promise<number> {
  return runCommand('status', argv, { flags: STATUS_FLAGS, usage: USAGE }, async (values) => {
    const trigger = stringFlag(values, 'trigger');
    const correlationId = stringFlag(values, 'correlation-id');
    if ((trigger === undefined) === (correlationId === undefined)) throw new UsageError('give either --trigger or --correlation-id');
    if (values['all-namespaces'] && stringFlag(values, 'namespace')) throw new UsageError('give either -n or -A, not both');
    const format = outputFormatFrom(values, ['table', 'wide', 'json', 'yaml']);
    if (format !== 'table' && format !== 'wide' && values['show-url']) throw new UsageError('--show-url prints a table row; leave it out with -o json or yaml');
    if (trigger !== undefined) {
      if (values['all-namespaces']) throw new UsageError('-A works with --correlation-id only; give the trigger\'s namespace with -n');
      return showTrigger(values, trigger, format);
    }
    if (values['show-url']) throw new UsageError('--show-url works with --trigger only');
    return showRun(values, correlationId!, format);
  });
}

async function showTrigger(values: FlagValues, name: string, format: OutputFormat): Promise<number> {
  const client = clientFrom(values);
  const namespace = namespaceFrom(values, client);
  const trigger = await getNamed<WebhookTrigger>(client, RESOURCES.webhookTriggers, namespace, name);
  if (format === 'json' || format === 'yaml') {
    process.stdout.write(formatObjects([trigger], format, false));
    return 0;
  }
  const status = trigger.status ?? {};
  const ready = status.conditions?.find((c) => c.type === CONDITION_TYPES.ready);
  const generation = trigger.metadata.generation ?? 0;
  const rows: [string, string][] = [
    ['Ready', describeCondition(ready)],
    ['Observed', status.observedGeneration === undefined ? 'not yet reconciled' : `generation ${status.observedGeneration} of ${generation}${status.observedGeneration < generation ? ' (the operator has not seen the latest spec yet)' : ''}`],
    ['Pipeline', targetsOf(trigger.spec).map((t) => `${t.shorthand ? '' : `${t.name}: `}${t.pipelineRef.name}${t.pipelineRef.version ? ` (version ${t.pipelineRef.version})` : ''}`).join(', ')],
    ['Scheme', trigger.spec.auth?.scheme ?? 'planasonix'],
  ];
  const urlRef = status.urlSecretRef;
  rows.push(['URL', urlRef ? `in Secret ${urlRef.name}, key ${urlRef.key}${values['show-url'] ? '' : ' (--show-url prints it)'}` : 'none yet']);
  if (values['show-url'] && urlRef) rows.push(['', await readUrl(client, namespace, urlRef)]);
  const signing = status.signingSecretRef;
  rows.push(['Signing secret', signing ? `in Secret ${signing.name}, key ${signing.key}` : 'none']);
  const rotation = status.rotation;
  if (rotation?.lastRotationTime || rotation?.nextRotationTime) {
    rows.push(['Last rotated', timeWithAge(rotation.lastRotationTime)]);
    rows.push(['Next rotation', rotation.nextRotationTime ? timeWithAge(rotation.nextRotationTime) : 'not scheduled (no spec.auth.rotation)']);
  }
  const last = status.lastDelivery;
  rows.push(['Last delivery', last ? `${timeWithAge(last.time)}, PipelineRun ${last.pipelineRun} (correlation ID ${last.correlationId})` : 'none yet']);
  if (trigger.spec.suspend) rows.push(['Suspended', 'yes: deliveries are answered 503']);
  if (format === 'wide') {
    rows.push(['Filter', trigger.spec.filter ?? '-']);
    const params = trigger.spec.params ?? [];
    rows.push(['Params', params.length === 0 ? '-' : params.map(describeMapping).join(', ')]);
  }
  process.stdout.write(`WebhookTrigger ${namespace}/${name}\n${formatRows(rows)}`);
  return 0;
}

async function showRun(values: FlagValues, correlationId: string, format: OutputFormat): Promise<number> {
  // Label values are limited to this alphabet; checking it first keeps the selector a plain equality.
  if (!/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/.test(correlationId)) {
    throw new UsageError(`--correlation-id "${correlationId}" is not a correlation ID (for example 0193f6c2-7b1e-7c3a-9f1d-2b8e4a6c0d11)`);
  }
  const client = clientFrom(values);
  const all = values['all-namespaces'] === true;
  const namespace = all ? undefined : namespaceFrom(values, client);
  let runs: PipelineRun[];
  try {
    runs = (await client.listAll<PipelineRun>(RESOURCES.pipelineRuns, namespace, { labelSelector: `${LABELS.correlationId}=${correlationId}` })).items;
  } catch (e) {
    throw describeKubeFailure(e, 'listing PipelineRuns', client);
  }
  if (runs.length === 0) {
    throw new CommandError(`no PipelineRun with correlation ID ${correlationId} ${namespace ? `in namespace "${namespace}" (search all with -A)` : 'in any namespace'}`);
  }
  if (format === 'json' || format === 'yaml') {
    process.stdout.write(formatObjects(runs, format, true));
    return 0;
  }
  const blocks = runs.map((run) => {
    const s = run.status ?? {};
    const rows: [string, string][] = [
      ['Correlation ID', run.spec.correlationId],
      ['Pipeline', `${run.spec.pipelineRef.name}${run.spec.pipelineRef.version ? ` (version ${run.spec.pipelineRef.version})` : ''}`],
      ['Trigger', run.spec.trigger?.name ?? run.metadata.labels?.[LABELS.trigger] ?? '-'],
      ['Received', timeWithAge(run.spec.trigger?.receivedTime ?? run.metadata.creationTimestamp)],
      ['Phase', s.phase ?? 'Pending (not picked up by the operator yet)'],
      ['Reason', s.reason ?? '-'],
      ['Message', s.message ?? '-'],
      ['Started', timeWithAge(s.startTime)],
      ['Completed', timeWithAge(s.completionTime)],
      ['Job', s.jobRef?.name ?? '-'],
    ];
    if (s.attempts !== undefined) rows.push(['Attempts', String(s.attempts)]);
    if (format === 'wide') {
      rows.push(['Delivery ID', run.spec.trigger?.deliveryId ?? '-']);
      rows.push(['Rerun of', run.spec.rerunOf ?? '-']);
      rows.push(['Sensitive', run.spec.sensitiveParams?.join(', ') || '-']);
      rows.push(['Traceparent', run.metadata.annotations?.[ANNOTATIONS.traceparent] ?? '-']);
    }
    return `PipelineRun ${run.metadata.namespace}/${run.metadata.name}\n${formatRows(rows)}`;
  });
  process.stdout.write(blocks.join('\n'));
  return 0;
}

async function readUrl(client: KubeClient, namespace: string, ref: { name: string; key: string }): Promise<string> {
  const secret = await getNamed<V1Secret>(client, RESOURCES.secrets, namespace, ref.name);
  const v = secret.data?.[ref.key];
  if (v === undefined) throw new CommandError(`Secret "${ref.name}" has no key "${ref.key}"`);
  return Buffer.from(v, 'base64').toString('utf8');
}

/** "export_id ← body /export_id": where a param comes from, never a value. */
function describeMapping(p: ParamMapping): string {
  const where = p.from === 'header' ? `header ${p.header}` : p.from === 'query' ? `query ${p.query}` : p.from === 'cloudevent' ? `cloudevent ${p.attribute}` : `body ${p.path}`;
  return `${p.name} ← ${where}${p.sensitive ? ' (sensitive)' : ''}`;
}

function describeCondition(c: Condition | undefined): string {
  if (!c) return 'Unknown (no Ready condition yet: is the operator running?)';
  return `${c.status} (${c.reason})${c.message ? ` ${c.message}` : ''}`;
}

function formatRows(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  return rows.map(([k, v]) => `  ${(k ? `${k}:` : '').padEnd(width + 1)} ${v}\n`).join('');
}

/** "2026-01-01T10:00:00Z (5m ago)", or "-" when there is no time. */
export function timeWithAge(time: string | undefined, now = Date.now()): string {
  if (!time) return '-';
  const at = Date.parse(time);
  if (Number.isNaN(at)) return time;
  const delta = at - now;
  const span = humanSpan(Math.abs(delta));
  return `${time} (${delta <= 0 ? `${span} ago` : `in ${span}`})`;
}

function humanSpan(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.round(h / 24)}d`;
}
