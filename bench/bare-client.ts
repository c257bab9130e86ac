// The accept path's baseline, run as its own process: a bare client (undici with one keep-alive
// pool, no receiver) creating the very PipelineRuns the receiver would create for the same
// deliveries, at the same concurrency and for the same time. Prints one JSON line (a LoadResult).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Route } from '../src/receiver/compile-route.ts';
import { buildPipelineRun } from '../src/receiver/build-pipeline-run.ts';
import { pipelineRunNameFor } from '../src/receiver/delivery-key.ts';
import { replayKeyOf } from '../src/triggers/signature-verifiers/signature-checks.ts';
import { RESOURCES, resourcePath } from '../src/kube/resources.ts';
import { FIELD_MANAGER } from '../src/api/constants.ts';
import { createRawApi } from './kube.ts';
import type { LoadResult } from './load-worker.ts';
import { summarize } from './stats.ts';

export interface BareClientSpec {
  kubeconfig: string;
  namespace: string;
  trigger: { name: string; uid: string; pipeline: string };
  concurrency: number;
  durationSeconds: number;
  maxRequests: number;
  warmupSeconds?: number;
  keepSamples?: boolean;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as BareClientSpec;
  const api = await createRawApi(spec.kubeconfig);
  const route = { namespace: spec.namespace, name: spec.trigger.name, uid: spec.trigger.uid } as Route;
  const target = { name: spec.trigger.pipeline, shorthand: true, pipelineName: spec.trigger.pipeline, pipelineVersion: undefined };
  const prefix = randomBytes(4).toString('hex');
  const path = `${resourcePath(RESOURCES.pipelineRuns, spec.namespace)}?fieldManager=${FIELD_MANAGER}`;
  let n = 0;
  const createOne = async (): Promise<number> => {
    const id = `${prefix}-${(n++).toString(36)}`;
    const body = JSON.stringify({ event: 'export.completed', export_id: `exp_${id}`, location: `s3://exports-bucket/exp_${id}/`, record_count: 482910 });
    const deliveryKey = `id:bench-${id}`;
    const run = buildPipelineRun(route, target, {
      runName: pipelineRunNameFor(route.name, route.uid, deliveryKey),
      deliveryKey,
      replayKey: replayKeyOf('planasonix', `${Math.floor(Date.now() / 1000)}.`, Buffer.from(body)),
      correlationId: randomUUID(),
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // as the receiver stores one per run
      receivedAt: new Date(),
      params: { export_id: `exp_${id}`, location: `s3://exports-bucket/exp_${id}/`, record_count: '482910' },
      sensitive: {},
      payloadErrors: [],
    });
    const res = await api.send('POST', path, run);
    return res.status;
  };

  const drive = async (seconds: number, max: number, record: boolean) => {
    const samples: number[] = [];
    const statuses = new Map<number, number>();
    let errors = 0;
    let issued = 0;
    const started = performance.now();
    const deadline = started + seconds * 1000;
    const loop = async () => {
      while (performance.now() < deadline && issued < max) {
        issued++;
        const t0 = performance.now();
        try {
          const status = await createOne();
          const ms = performance.now() - t0;
          if (!record) continue;
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status === 201) samples.push(ms);
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: spec.concurrency }, loop));
    return { samples, statuses, errors, durationSeconds: (performance.now() - started) / 1000 };
  };

  if (spec.warmupSeconds) await drive(spec.warmupSeconds, Math.ceil(spec.maxRequests / 4), false);
  const cpu = process.cpuUsage();
  const r = await drive(spec.durationSeconds, spec.maxRequests, true);
  const used = process.cpuUsage(cpu);
  await api.close();
  const samples = r.samples.sort((a, b) => a - b);
  const out: LoadResult = {
    durationSeconds: r.durationSeconds,
    requests: [...r.statuses.values()].reduce((s, v) => s + v, 0),
    expected: samples.length,
    expectedPerSecond: samples.length / r.durationSeconds,
    statuses: Object.fromEntries([...r.statuses].map(([k, v]) => [String(k), v])),
    errors: r.errors,
    timeouts: 0,
    latencyMs: summarize(samples),
    clientCpuSeconds: (used.user + used.system) / 1e6,
    ...(spec.keepSamples ? { samples } : {}),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (import.meta.main) {
  main().catch((e: unknown) => {
    process.stderr.write(`bare-client: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
