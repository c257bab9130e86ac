// Load generator for throughput.bench.ts, run as its own process so that the load and the operator
// do not share an event loop. Reads its job as JSON from argv[2], prints autocannon's summary as JSON.
//   reject: one body with a wrong signature, sent over and over (the 401 path)
//   accept: every request a new, validly signed delivery (the 202 path: one PipelineRun each)
//   accept-with-id: the same with an X-Planasonix-Delivery header, which adds the replay look-up
import { createHmac, randomUUID } from 'node:crypto';
import { autocannon, type AutocannonOptions, type RequestSpec } from '../../harness/autocannon.ts';


interface Job {
  url: string;
  mode: 'reject' | 'accept' | 'accept-with-id';
  secret: string;
  durationSeconds: number;
  connections: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;

function signed(body: string, secret: string): Record<string, string> {
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return { 'content-type': 'application/json', 'x-planasonix-signature': `t=${t},v1=${v1}` };
}

const rejectBody = JSON.stringify({ export_id: 'bench-reject', record_count: 1 });
const options: AutocannonOptions = {
  url: job.url,
  method: 'POST',
  connections: job.connections,
  duration: job.durationSeconds,
  ...(job.mode === 'reject'
    ? { headers: signed(rejectBody, `${job.secret}-wrong`), body: rejectBody }
    : {
        requests: [
          {
            method: 'POST',
            setupRequest: (req: RequestSpec) => {
              const body = JSON.stringify({ export_id: `bench-${randomUUID()}`, record_count: 1 });
              const id: Record<string, string> = job.mode === 'accept-with-id' ? { 'x-planasonix-delivery': `evt_${randomUUID()}` } : {};
              return { ...req, headers: { ...signed(body, job.secret), ...id }, body };
            },
          },
        ],
      }),
};

const result = await autocannon(options);
process.stdout.write(
  JSON.stringify({
    mode: job.mode,
    connections: job.connections,
    durationSeconds: result.duration,
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count])),
    errors: result.errors,
    timeouts: result.timeouts,
  }) + '\n',
);
