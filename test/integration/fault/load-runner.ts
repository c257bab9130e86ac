// Load generator for sustained-load.test.ts, run as its own process so that the load and the
// operator under test share neither an event loop nor a heap. Reads its job as JSON from argv[2]:
// phases run one after the other, each printed as one JSON line when it ends. The requests are
// deliveries signed with a wrong secret (the receiver's 401 path: routing, body read, HMAC check,
// logging, metrics — everything but the API server).
import { createHmac } from 'node:crypto';
import { autocannon } from '../../harness/autocannon.ts';


export interface LoadPhase {
  name: string;
  durationSeconds: number;
  connections: number;
  /** Requests per second over all connections; omitted: as fast as the server answers. */
  rate?: number;
}

export interface LoadJob {
  url: string;
  /** A secret that is not the trigger's: every request is a validly formed, wrongly signed delivery. */
  wrongSecret: string;
  phases: LoadPhase[];
}

export interface PhaseResult {
  name: string;
  durationSeconds: number;
  requestsPerSecond: number;
  total: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; average: number };
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as LoadJob;
const body = JSON.stringify({ export_id: 'load-reject', record_count: 1 });

for (const phase of job.phases) {
  // Signed afresh for each phase, so that the timestamp stays within the tolerance.
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac('sha256', job.wrongSecret).update(`${t}.${body}`).digest('hex');
  const result = await autocannon({
    url: job.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-planasonix-signature': `t=${t},v1=${v1}` },
    body,
    connections: phase.connections,
    duration: phase.durationSeconds,
    timeout: 10,
    // autocannon 9 corrects paced runs for coordinated omission with an expected interval of
    // ceil(1 / rate) = 1 ms (seconds mistaken for milliseconds): every response slower than 1 ms
    // would add synthetic samples and inflate p99 tenfold. Record what was measured.
    ...(phase.rate ? { overallRate: Math.max(1, Math.round(phase.rate)), ignoreCoordinatedOmission: true } : {}),
  });
  const out: PhaseResult = {
    name: phase.name,
    durationSeconds: result.duration,
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, average: result.latency.average },
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count])),
    errors: result.errors,
    timeouts: result.timeouts,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}
