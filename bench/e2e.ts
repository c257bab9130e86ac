// Figure 5: a delivery accepted → its Job created, timed by the local receive time of the Job's
// ADDED watch event (creationTimestamp has a resolution of one second). The baseline makes the same
// two writes with a bare client, back to back — the PipelineRun, then the Job buildJob() makes of it
// — and times them the same way: the floor for this outcome, with no receiver or controller between.
import type { Pipeline, PipelineRun } from '../src/api/types.ts';
import { FIELD_MANAGER } from '../src/api/constants.ts';
import type { KubeClient, KubeObject } from '../src/kube/client.ts';
import { RESOURCES, resourcePath } from '../src/kube/resources.ts';
import { buildJob, jobNameFor } from '../src/controllers/pipeline-run/build-job.ts';
import { resolveRun } from '../src/controllers/pipeline-run/resolve-pipeline.ts';
import { buildPipelineRun } from '../src/receiver/build-pipeline-run.ts';
import { pipelineRunNameFor } from '../src/receiver/delivery-key.ts';
import type { Route } from '../src/receiver/compile-route.ts';
import { signRequest } from '../src/signing/sign-request.ts';
import type { RawApi } from './kube.ts';
import { runBounded } from './kube.ts';

export interface E2EResult {
  deliveries: number;
  concurrency: number;
  /** 202 received → Job ADDED seen, ms. */
  acceptedToJobMs: number[];
  /** Request sent → Job ADDED seen, ms. */
  sentToJobMs: number[];
  /** Request sent → 202 received, ms. */
  sentToAcceptedMs: number[];
  missing: number;
}

/** Watches Jobs in the namespace and records when each (by name) was first seen. */
function watchJobs(client: KubeClient, namespace: string): { seen: Map<string, number>; stop: () => void; ready: Promise<void> } {
  const seen = new Map<string, number>();
  const abort = new AbortController();
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  void (async () => {
    const list = await client.list<KubeObject>(RESOURCES.jobs, namespace, { limit: 1 });
    let resourceVersion = list.metadata.resourceVersion;
    markReady();
    while (!abort.signal.aborted) {
      try {
        await client.watch<KubeObject>(RESOURCES.jobs, namespace, { resourceVersion, signal: abort.signal }, (type, obj) => {
          const at = performance.now();
          if (obj.metadata?.resourceVersion) resourceVersion = obj.metadata.resourceVersion;
          if (type === 'ADDED' && obj.metadata?.name && !seen.has(obj.metadata.name)) seen.set(obj.metadata.name, at);
        });
      } catch {
        if (abort.signal.aborted) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  })();
  return { seen, stop: () => abort.abort(), ready };
}

async function waitForJobs(seen: Map<string, number>, names: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (names.some((n) => !seen.has(n)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** Sends N signed deliveries to the receiver and times each one to its Job. */
export async function measureE2E(opts: {
  client: KubeClient;
  namespace: string;
  url: string;
  secret: string;
  deliveries: number;
  concurrency: number;
}): Promise<E2EResult> {
  const watch = watchJobs(opts.client, opts.namespace);
  await watch.ready;
  const sent: number[] = [];
  const accepted: number[] = [];
  const jobNames: string[] = [];
  const prefix = `e2e-${Date.now().toString(36)}`;
  await runBounded(opts.deliveries, opts.concurrency, async (i) => {
    const body = JSON.stringify({ event: 'export.completed', export_id: `exp_${prefix}_${i}`, location: `s3://exports-bucket/${i}/`, record_count: i });
    const headers = signRequest('planasonix', { secret: opts.secret, body: Buffer.from(body), deliveryId: `${prefix}-${i}` });
    const t0 = performance.now();
    const res = await fetch(opts.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const answer = (await res.json()) as { pipelineRun?: { name: string } };
    const t1 = performance.now();
    if (res.status !== 202 || !answer.pipelineRun) throw new Error(`delivery ${i} answered ${res.status}: ${JSON.stringify(answer)}`);
    sent[i] = t0;
    accepted[i] = t1;
    // The Job is named after the run (jobNameFor), and the receiver keeps run names short enough.
    jobNames[i] = answer.pipelineRun.name;
  });
  await waitForJobs(watch.seen, jobNames, 60_000);
  watch.stop();
  return collect(opts.deliveries, opts.concurrency, sent, accepted, jobNames, watch.seen);
}

/** The baseline: the same PipelineRun and Job written by a bare client, back to back. */
export async function measureE2EBaseline(opts: {
  client: KubeClient;
  api: RawApi;
  namespace: string;
  pipeline: Pipeline;
  trigger: { name: string; uid: string };
  deliveries: number;
  concurrency: number;
}): Promise<E2EResult> {
  const watch = watchJobs(opts.client, opts.namespace);
  await watch.ready;
  const route = { namespace: opts.namespace, name: opts.trigger.name, uid: opts.trigger.uid } as Route;
  const target = { name: opts.pipeline.metadata.name!, shorthand: true, pipelineName: opts.pipeline.metadata.name!, pipelineVersion: undefined };
  const sent: number[] = [];
  const accepted: number[] = [];
  const jobNames: string[] = [];
  const prefix = `e2e-base-${Date.now().toString(36)}`;
  const post = async (path: string, obj: unknown): Promise<KubeObject> => {
    const res = await opts.api.send('POST', `${path}?fieldManager=${FIELD_MANAGER}`, obj);
    if (res.status !== 201) throw new Error(`POST ${path}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
    return JSON.parse(res.text) as KubeObject;
  };
  await runBounded(opts.deliveries, opts.concurrency, async (i) => {
    const t0 = performance.now();
    const deliveryKey = `id:${prefix}-${i}`;
    const run = buildPipelineRun(route, target, {
      runName: pipelineRunNameFor(route.name, route.uid, deliveryKey),
      deliveryKey,
      correlationId: crypto.randomUUID(),
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // as the receiver stores one per run
      receivedAt: new Date(),
      params: { export_id: `exp_${prefix}_${i}`, location: `s3://exports-bucket/${i}/`, record_count: String(i) },
      sensitive: {},
      payloadErrors: [],
    });
    const stored = (await post(resourcePath(RESOURCES.pipelineRuns, opts.namespace), run)) as PipelineRun;
    const t1 = performance.now();
    const resolved = resolveRun(stored, opts.pipeline);
    if (!resolved.ok) throw new Error(`baseline run does not resolve: ${resolved.message}`);
    await post(resourcePath(RESOURCES.jobs, opts.namespace), buildJob(stored, opts.pipeline, resolved.template, resolved.values));
    sent[i] = t0;
    accepted[i] = t1;
    jobNames[i] = jobNameFor(stored);
  });
  await waitForJobs(watch.seen, jobNames, 60_000);
  watch.stop();
  return collect(opts.deliveries, opts.concurrency, sent, accepted, jobNames, watch.seen);
}

function collect(n: number, concurrency: number, sent: number[], accepted: number[], jobNames: string[], seen: Map<string, number>): E2EResult {
  const result: E2EResult = { deliveries: n, concurrency, acceptedToJobMs: [], sentToJobMs: [], sentToAcceptedMs: [], missing: 0 };
  for (let i = 0; i < n; i++) {
    const at = seen.get(jobNames[i]!);
    result.sentToAcceptedMs.push(accepted[i]! - sent[i]!);
    if (at === undefined) {
      result.missing++;
      continue;
    }
    result.acceptedToJobMs.push(at - accepted[i]!);
    result.sentToJobMs.push(at - sent[i]!);
  }
  return result;
}
