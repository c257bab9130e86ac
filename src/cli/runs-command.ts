// `planasonix runs`: the PipelineRuns of a namespace (or all of them), as `kubectl get` lists objects —
// a table, more columns with -o wide, the objects with -o json|yaml, names with -o name — narrowed
// by trigger, correlation ID or a label selector.
import type { PipelineRun } from '../api/types.ts';
import { ANNOTATIONS, LABELS } from '../api/constants.ts';
import { RESOURCES } from '../kube/resources.ts';
import { COMMON_FLAGS, UsageError, clientFrom, describeKubeFailure, namespaceFrom, runCommand, stringFlag } from './cli-args.ts';
import { OUTPUT_FLAG, OUTPUT_HELP, age, formatObjects, formatTable, outputFormatFrom, qualifiedName, type Column } from './output.ts';

const USAGE = `Usage:
  planasonix runs [-n NAMESPACE | -A] [--trigger NAME] [--correlation-id ID] [-l SELECTOR] [-o wide|json|yaml|name]

Lists PipelineRuns, newest first: phase, reason, correlation ID and age; with -o wide also the
delivery ID, the run a rerun repeats, the Job and the W3C traceparent.

Flags:
  -n, --namespace NS      the namespace (default: the kubeconfig context's, else "default")
  -A, --all-namespaces    list the runs of every namespace
  --trigger NAME          only the runs of this WebhookTrigger
  --correlation-id ID     only the runs of this delivery (the run and its reruns)
  -l, --selector SEL      a label selector, as kubectl's -l
${OUTPUT_HELP}
  --kubeconfig PATH       the kubeconfig to use (default: $KUBECONFIG, ~/.kube/config)
  --context NAME          the kubeconfig context to use
  -h, --help              show this help

Example:
  $ planasonix runs -n data --trigger export-completed
  NAME                                 PIPELINE        TRIGGER            PHASE       REASON      CORRELATION                            AGE
  export-completed-5f2c9a01b7c4d3e2    export-loader   export-completed   Succeeded   Completed   0193f6c2-7b1e-7c3a-9f1d-2b8e4a6c0d11   2m
`;

export const RUNS_FLAGS = {
  ...COMMON_FLAGS,
  ...OUTPUT_FLAG,
  'all-namespaces': { type: 'boolean', short: 'A' },
  trigger: { type: 'string' },
  'correlation-id': { type: 'string' },
  selector: { type: 'string', short: 'l' },
} as const;

const LABEL_VALUE = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)$/;

export async function runsCommand(argv: readonly string[]): Promise<number> {
  return runCommand('runs', argv, { flags: RUNS_FLAGS, usage: USAGE }, async (values) => {
    const format = outputFormatFrom(values);
    const all = values['all-namespaces'] === true;
    if (all && stringFlag(values, 'namespace')) throw new UsageError('give either -n or -A, not both');
    const selectors: string[] = [];
    for (const [flag, label] of [['trigger', LABELS.trigger], ['correlation-id', LABELS.correlationId]] as const) {
      const value = stringFlag(values, flag);
      if (value === undefined) continue;
      if (!LABEL_VALUE.test(value)) throw new UsageError(`--${flag} "${value}" cannot be a label value`);
      selectors.push(`${label}=${value}`);
    }
    const selector = stringFlag(values, 'selector');
    if (selector) selectors.push(selector);

    const client = clientFrom(values);
    const namespace = all ? undefined : namespaceFrom(values, client);
    let runs: PipelineRun[];
    try {
      runs = (await client.listAll<PipelineRun>(RESOURCES.pipelineRuns, namespace, selectors.length ? { labelSelector: selectors.join(',') } : {})).items;
    } catch (e) {
      throw describeKubeFailure(e, 'listing PipelineRuns', client);
    }
    runs.sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));

    if (format === 'json' || format === 'yaml') {
      process.stdout.write(formatObjects(runs, format, true));
      return 0;
    }
    if (format === 'name') {
      process.stdout.write(runs.map((r) => `${qualifiedName('pipelinerun.planasonix.io', r)}\n`).join(''));
      return 0;
    }
    if (runs.length === 0) {
      // kubectl's wording, on stderr, so that a script reading stdout sees no rows.
      process.stderr.write(namespace ? `No resources found in ${namespace} namespace.\n` : 'No resources found\n');
      return 0;
    }
    process.stdout.write(formatTable(runs, runColumns(all), format === 'wide'));
    return 0;
  });
}

function runColumns(allNamespaces: boolean): Column<PipelineRun>[] {
  const now = Date.now();
  return [
    ...(allNamespaces ? [{ header: 'NAMESPACE', value: (r: PipelineRun) => r.metadata.namespace ?? '' }] : []),
    { header: 'NAME', value: (r) => r.metadata.name ?? '' },
    { header: 'PIPELINE', value: (r) => r.spec.pipelineRef.name },
    { header: 'TRIGGER', value: (r) => r.spec.trigger?.name ?? '' },
    { header: 'PHASE', value: (r) => r.status?.phase ?? 'Pending' },
    { header: 'REASON', value: (r) => r.status?.reason ?? '' },
    { header: 'CORRELATION', value: (r) => r.spec.correlationId },
    { header: 'AGE', value: (r) => age(r.metadata.creationTimestamp, now) },
    { header: 'DELIVERY', value: (r) => r.spec.trigger?.deliveryId ?? '', wide: true },
    { header: 'RERUN-OF', value: (r) => r.spec.rerunOf ?? '', wide: true },
    { header: 'JOB', value: (r) => r.status?.jobRef?.name ?? '', wide: true },
    { header: 'TRACEPARENT', value: (r) => r.metadata.annotations?.[ANNOTATIONS.traceparent] ?? '', wide: true },
  ];
}
