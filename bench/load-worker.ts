// The load generator, always run as its own process (so that it never shares a core's event loop
// with the server it measures): autocannon through its API, loopback only, bounded by a duration and
// a request count. Two modes:
//   fixed   — the same request every time (the reject path: a badly signed delivery)
//   signed  — each request is a distinct, correctly signed delivery: its own body, its own delivery
//             ID and a fresh signature, built in autocannon's setupRequest (for github: a 1 KiB push
//             event with GitHub's headers, bench/github-delivery.ts)
// Prints one JSON line (LoadResult) on stdout.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { signRequest } from '../src/signing/sign-request.ts';
import { summarize } from './stats.ts';
import { cpuSecondsOf, systemCpuSecondsOf } from './machine.ts';
import { githubEventHeaders, githubPushBody } from './github-delivery.ts';

export interface LoadSpec {
  url: string;
  connections: number;
  durationSeconds: number;
  /** Upper bound on requests, whatever the duration. */
  maxRequests: number;
  warmupSeconds?: number;
  mode: 'fixed' | 'signed';
  /** fixed mode */
  body?: string;
  headers?: Record<string, string>;
  /** signed mode: the trigger's signing secret and scheme (planasonix when omitted) */
  secret?: string;
  scheme?: 'planasonix' | 'standard-webhooks' | 'github';
  /**
   * Status that counts as the expected answer (401 for the reject path, 202 for the accept path);
   * 'any' for a peer whose answer is what is being found out.
   */
  expectStatus: number | 'any';
  /** Return the latency of every expected answer (for the chart and for exact percentiles). */
  keepSamples?: boolean;
  /** The answering process: its CPU over the timed run is reported as serverCpuSeconds. */
  serverPid?: number;
}

export interface LoadResult {
  durationSeconds: number;
  requests: number;
  expected: number;
  expectedPerSecond: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Latency of the expected answers, ms. */
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** CPU seconds the load-generating process itself used during the measured run. */
  clientCpuSeconds: number;
  /** CPU seconds the answering process (spec.serverPid) used during the measured run, from /proc. */
  serverCpuSeconds?: number;
  /** Of serverCpuSeconds, the kernel's part (system time). */
  serverSystemSeconds?: number;
  samples?: number[];
}

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}
interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  maxOverallRequests?: number;
  timeout?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  requests?: (AutocannonRequest & { setupRequest?: (req: AutocannonRequest) => AutocannonRequest })[];
}
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
}
interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) => void): void;
}
type Autocannon = (opts: AutocannonOptions, cb: (err: Error | null, result: AutocannonResult) => void) => AutocannonInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function requestsFor(spec: LoadSpec): Pick<AutocannonOptions, 'method' | 'headers' | 'body' | 'requests'> {
  if (spec.mode === 'fixed') return { method: 'POST', headers: spec.headers ?? {}, body: spec.body ?? '' };
  const secret = spec.secret;
  if (!secret) throw new Error('signed mode needs the signing secret');
  // Unique across workers and runs: a run-specific prefix and a counter.
  const prefix = randomBytes(4).toString('hex');
  let n = 0;
  return {
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const id = `${prefix}-${(n++).toString(36)}`;
          if (spec.scheme === 'github') {
            const body = githubPushBody(id);
            const deliveryId = `bench-${id}`;
            return { ...req, headers: { ...githubEventHeaders(deliveryId), ...signRequest('github', { secret, body: Buffer.from(body), deliveryId }) }, body };
          }
          const body = JSON.stringify({ event: 'export.completed', export_id: `exp_${id}`, location: `s3://exports-bucket/exp_${id}/`, record_count: 482910 });
          const signed = signRequest(spec.scheme ?? 'planasonix', { secret, body: Buffer.from(body), deliveryId: `bench-${id}` });
          return { ...req, headers: { 'content-type': 'application/json', ...signed }, body };
        },
      },
    ],
  };
}

function run(spec: LoadSpec, durationSeconds: number, record: boolean, samples: number[], statuses: Map<number, number>): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: durationSeconds,
        maxOverallRequests: Math.max(spec.maxRequests, spec.connections),
        timeout: 20,
        ...requestsFor(spec),
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    if (!record) return;
    instance.on('response', (_client, statusCode, _bytes, ms) => {
      statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
      if (spec.expectStatus === 'any' || statusCode === spec.expectStatus) samples.push(ms);
    });
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  const host = new URL(spec.url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') throw new Error(`load goes to loopback only, not ${host}`);
  if (spec.warmupSeconds) await run({ ...spec, maxRequests: Math.ceil(spec.maxRequests / 4) }, spec.warmupSeconds, false, [], new Map());
  const samples: number[] = [];
  const statuses = new Map<number, number>();
  const cpu = process.cpuUsage();
  const serverCpu = spec.serverPid === undefined ? Number.NaN : cpuSecondsOf(spec.serverPid);
  const serverSystem = spec.serverPid === undefined ? Number.NaN : systemCpuSecondsOf(spec.serverPid);
  const result = await run(spec, spec.durationSeconds, true, samples, statuses);
  const used = process.cpuUsage(cpu);
  const serverCpuSeconds = spec.serverPid === undefined ? Number.NaN : cpuSecondsOf(spec.serverPid) - serverCpu;
  const serverSystemSeconds = spec.serverPid === undefined ? Number.NaN : systemCpuSecondsOf(spec.serverPid) - serverSystem;
  samples.sort((a, b) => a - b);
  const requests = [...statuses.values()].reduce((s, v) => s + v, 0);
  const out: LoadResult = {
    durationSeconds: result.duration,
    requests,
    expected: samples.length,
    expectedPerSecond: samples.length / result.duration,
    statuses: Object.fromEntries([...statuses].map(([k, v]) => [String(k), v])),
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: summarize(samples),
    clientCpuSeconds: (used.user + used.system) / 1e6,
    ...(Number.isFinite(serverCpuSeconds) ? { serverCpuSeconds, serverSystemSeconds } : {}),
    ...(spec.keepSamples ? { samples } : {}),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (import.meta.main) {
  main().catch((e: unknown) => {
    process.stderr.write(`load-worker: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
