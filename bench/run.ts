// `make bench`: every figure against a baseline measured in the same run, reported as a ratio.
// One control plane (test/harness/control-plane.ts), the CRDs installed with its kubectl, the
// operator as a child process (`planasonix run`, so its RSS is its own), and the load from separate
// processes on loopback, bounded in count and time. Writes bench/results.json and
// docs/benchmarks.md (+ docs/benchmarks-latency.svg); a run of some phases writes
// bench/results-partial.json only.
//
//   BENCH_QUICK=1        shorter phases and 2,000 instead of 10,000 triggers (for trying the bench out)
//   BENCH_CPU_PROFILE=1  run the operator with --cpu-prof and summarize the top frames per phase
//   BENCH_PHASES=...     comma-separated subset of verify,filter,reject,accept,e2e,peers,scale,scalexl (default: all)
//                        scalexl: the 30,000-trigger point (4g–4j), after scale and only with it
//                        peers: ours against Tekton Triggers and Flux's Receiver (tools/peers/build.sh
//                        builds them from their Go modules on first use, several minutes)
//                        longaccept (not in the default set): the accept path over a long run per
//                        scheme, runs kept, with RSS, heap and GC per chunk (with BENCH_CPU_PROFILE=1,
//                        a profile per scheme)
//   BENCH_PEERS=tekton,flux  the peers to build and compare with (default both)
//   BENCH_LONG_RUNS=N    runs each scheme of longaccept stores (default 20,000; 6,000 with BENCH_QUICK)
//   BENCH_SCALE_LARGE=N  the large trigger count (default 10,000); the wait for Ready grows with it
//   BENCH_SCALE_XL=N     the count of the scalexl point (default 30,000; 4,000 with BENCH_QUICK)
//   BENCH_OPERATOR_NODE_OPTIONS='...'  Node.js flags for the operator instead of deploy/receiver-deployment.yaml's
//   BENCH_SCALE_PAIRS=N  pairs of fresh replicas 4e and 4j measure (default 2, three rounds each; 2 rounds
//                        each when set, so more pairs fit: how often a replica is of the slow kind)
//   BENCH_SCALE_EXTRA_NODE_OPTIONS='...'  extra Node.js flags for 4e's and 4j's replica serving every
//                        trigger only (--hash-seed=N, --predictable, --trace-gc: the Findings' experiments)
//   BENCH_KEEP_LOGS=1    keep the operator processes' logs (their directory is printed at the end)
//   PLANASONIX_TEST_NODE  off by default here: the control plane runs without its node (kubelet,
//                        containerd), as every figure measures writes to the API server; with a node
//                        the bench's thousands of Jobs would get Pods competing for the same cores.
//                        Set it to anything else to measure with the node running.
//   BENCH_WRITE_DOCS=1   write docs/ even when BENCH_PHASES chose some phases only (by default only a
//                        run of every phase does)
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { WebhookTrigger } from '../src/api/types.ts';
import { KubeClient } from '../src/kube/client.ts';
import { RESOURCES } from '../src/kube/resources.ts';
import { startControlPlane, type ControlPlane } from '../test/harness/control-plane.ts';
import { measureE2E, measureE2EBaseline, type E2EResult } from './e2e.ts';
import {
  benchPipeline,
  benchTrigger,
  clusterVersions,
  countObjects,
  createNamespace,
  createRawApi,
  deleteCollection,
  deleteNamespaceAndWait,
  runBounded,
  waitUntil,
  watchTriggersReady,
  type RawApi,
} from './kube.ts';
import type { LoadResult, LoadSpec } from './load-worker.ts';
import type { BareClientSpec } from './bare-client.ts';
import { controlPlaneProcesses, CpuMeter, loadAverage, machineInfo, threadCpuSeconds } from './machine.ts';
import { heapSnapshotFlags, memoryBreakdown, type MemoryBreakdown } from './memory-breakdown.ts';
import { processMemory, repoRoot, runJsonChild, startBareKoa, startOperatorProcess, type OperatorProcess, type ServerProcess } from './processes.ts';
import { summarizeCpuProfile, type ProfileSummary } from './profile-summary.ts';
import { quietRequestCounts, requestCounts, writesBetween } from './api-writes.ts';
import { buildPeer, startPeers, type ReceiverTarget } from './peers.ts';
import { comparePeers } from './peer-phase.ts';
import { peerTable, type PeerComparison, type PeerPhaseConfig } from './peer-summary.ts';
import { cdfPoints, median, round, summarize } from './stats.ts';
import { byId, renderLatencySvg, renderMarkdown, type Figure, type LongAcceptChunk, type Results } from './report.ts';

const exec = promisify(execFile);
const QUICK = process.env.BENCH_QUICK === '1';
const PROFILE = process.env.BENCH_CPU_PROFILE === '1';
const PHASES = new Set((process.env.BENCH_PHASES ?? 'verify,filter,reject,accept,e2e,peers,scale,scalexl').split(',').map((s) => s.trim()));

const SCALE_LARGE = Number(process.env.BENCH_SCALE_LARGE ?? (QUICK ? 2_000 : 10_000));
const SCALE_XL = Number(process.env.BENCH_SCALE_XL ?? (QUICK ? 4_000 : 30_000));
/** The old-space cap for the 30,000-trigger point: its heap alone outgrows the Deployment's 160 MiB. */
const SCALE_XL_OLD_SPACE_MIB = 512;
const CONFIG = {
  rejectConnections: 16,
  rejectSeconds: QUICK ? 3 : 6,
  rejectRounds: QUICK ? 2 : 5,
  acceptConnections: 16,
  acceptSeconds: QUICK ? 4 : 8,
  acceptRounds: QUICK ? 1 : 2,
  acceptMaxRequests: 20_000,
  e2eDeliveries: 200,
  e2eConcurrency: 4,
  scaleSmall: 1_000,
  scaleLarge: SCALE_LARGE,
  scaleConcurrency: 32,
  // 5 min, or 30 ms per trigger for larger counts: 30,000 took 344 s on 2 cores.
  scaleXl: SCALE_XL,
  scaleTimeoutMs: Math.max(5 * 60_000, Math.max(SCALE_LARGE, SCALE_XL) * 30),
  benchTriggers: 10,
  longRuns: Number(process.env.BENCH_LONG_RUNS ?? (QUICK ? 6_000 : 20_000)),
  longChunkSeconds: 5,
  peers: {
    rounds: QUICK ? 1 : 3,
    connections: 16,
    rejectSeconds: QUICK ? 3 : 6,
    acceptSeconds: QUICK ? 4 : 8,
    drainSeconds: 10,
    acceptMaxRequests: 20_000,
  } satisfies PeerPhaseConfig,
} as const;

const NS = 'bench';
const t0 = performance.now();
const log = (msg: string) => process.stdout.write(`[bench +${((performance.now() - t0) / 1000).toFixed(0)}s] ${msg}\n`);

interface Hook {
  url: string;
  secret: string;
  name: string;
  uid: string;
}

interface Context {
  plane: ControlPlane;
  /** The operator's credentials: a token of deploy/'s ServiceAccount, as in a cluster. */
  operatorKubeconfig: string;
  client: KubeClient;
  api: RawApi;
  workDir: string;
  profileDir: string | undefined;
  koa: ServerProcess;
  /** A Koa app that reads the body and checks an HMAC before answering 401: context for figure 1. */
  koaVerify: ServerProcess;
  /** The same, also writing the receiver's log line and metrics per request (figure 1d). */
  koaObserve: ServerProcess;
  hook: Hook;
  /** A standard-webhooks trigger: its delivery ID is signed, so the receiver makes no replay look-up. */
  hookSw: Hook;
  /** planasonix with signedDeliveryIdOnly: v2 signatures, no DeliveryRecord. */
  hookV2: Hook;
  /** A github trigger, for the comparison with the peers (which all speak GitHub's scheme). */
  hookGh: Hook;
  nodeOptions: string[];
  details: Record<string, unknown>;
  figures: Figure[];
  profiles: Record<string, ProfileSummary>;
  samples: Record<string, number[]>;
}

function figure(f: Omit<Figure, 'ratio' | 'met'> & { ratio?: number; met?: boolean | null }): Figure {
  const ratio = f.ratio ?? f.value / f.baseline;
  return { ...f, ratio: round(ratio, 3), met: f.met ?? null };
}

async function kubectl(plane: ControlPlane, args: string[]): Promise<string> {
  const { stdout } = await exec(plane.kubectl, args, { env: { ...process.env, KUBECONFIG: plane.kubeconfig }, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

// ------------------------------------------------------------------ operator processes

let operatorSerial = 0;
type BenchOperator = OperatorProcess & { label: string; profileDir: string | undefined; snapshotDir: string };

async function startOperator(ctx: Context, components: 'all' | 'receiver', label: string, opts: { nodeOptions?: string[]; extraArgs?: string[] } = {}): Promise<BenchOperator> {
  const nodeOptions = opts.nodeOptions ?? ctx.nodeOptions;
  operatorSerial++;
  const profileDir = ctx.profileDir ? path.join(ctx.profileDir, `${operatorSerial}-${label}`) : undefined;
  const snapshotDir = path.join(ctx.workDir, `heap-${operatorSerial}-${label}`);
  mkdirSync(snapshotDir, { recursive: true }); // Node writes no snapshot into a missing directory
  const op = await startOperatorProcess({
    kubeconfig: ctx.operatorKubeconfig,
    components,
    logFile: path.join(ctx.workDir, `operator-${operatorSerial}-${label}.log`),
    nodeOptions: [...nodeOptions, ...heapSnapshotFlags(snapshotDir)],
    ...(profileDir ? { cpuProfDir: profileDir } : {}),
    ...(opts.extraArgs ? { extraArgs: opts.extraArgs } : {}),
  });
  log(`operator ${label} (${components}) ready, pid ${op.pid}`);
  return { ...op, label, profileDir, snapshotDir };
}

/** Stops the process; with BENCH_CPU_PROFILE, summarizes the profile it wrote on exit. */
async function stopOperator(ctx: Context, op: BenchOperator): Promise<void> {
  await op.stop();
  if (!op.profileDir) return;
  const file = readdirSync(op.profileDir).find((f) => f.endsWith('.cpuprofile'));
  if (file) ctx.profiles[op.label] = summarizeCpuProfile(path.join(op.profileDir, file), 20);
}

// ------------------------------------------------------------------ load

function load(spec: Omit<LoadSpec, 'maxRequests'> & { maxRequests?: number }): Promise<LoadResult> {
  const full: LoadSpec = { maxRequests: 2_000_000, ...spec };
  return runJsonChild<LoadResult>('load-worker.ts', full, (full.durationSeconds + (full.warmupSeconds ?? 0) + 60) * 1000);
}

/** The reject path's request: the deploy/examples payload with a well-formed but wrong signature. */
function badlySigned(): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({ event: 'export.completed', export_id: 'exp_8f3c21', location: 's3://exports-bucket/exp_8f3c21/', record_count: 482910 });
  const t = Math.floor(Date.now() / 1000);
  return {
    body,
    headers: { 'content-type': 'application/json', 'x-planasonix-signature': `t=${t},v1=${'0'.repeat(64)}`, 'x-planasonix-delivery': 'bench-reject' },
  };
}

/** V8's garbage-collection time so far, by kind, from the process's /metrics (prom-client's default metrics). */
async function gcSeconds(metricsUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^nodejs_gc_duration_seconds_sum\{kind="(\w+)"\} ([0-9.e+-]+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** What each counter grew by between two readings. */
function counterDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, round(v - (before[k] ?? 0), 3)]));
}

/** Something the reject load is sent to: its full webhook URL, its pid (for CPU), and for ours its metrics (for GC). */
interface RejectTarget {
  url: string;
  pid: number;
  metricsUrl?: string;
}
/**
 * A round of the reject load; ours also with V8's GC pauses by kind over the round, and its CPU by
 * thread (the pauses leave out V8's concurrent marking on its worker threads).
 */
type RejectRound = LoadResult & { gcSeconds?: Record<string, number>; threadCpuSeconds?: Record<string, number> };

/** Alternates the targets round by round (AB, BA, …), so drift of the machine hits each alike. */
async function rejectRounds<K extends string>(label: string, targets: Record<K, RejectTarget>, rounds: number = CONFIG.rejectRounds): Promise<Record<K, RejectRound[]>> {
  const request = badlySigned();
  const names = Object.keys(targets) as K[];
  const out = Object.fromEntries(names.map((n) => [n, []])) as unknown as Record<K, RejectRound[]>;
  for (let r = 0; r < rounds; r++) {
    for (const which of r % 2 === 0 ? names : [...names].reverse()) {
      const target = targets[which];
      // Our process's GC pauses and CPU by thread over the round, warm-up included: what the heap
      // costs per request.
      const { metricsUrl } = target;
      const before = metricsUrl ? { gc: await gcSeconds(metricsUrl), threads: threadCpuSeconds(target.pid) } : undefined;
      const res: RejectRound = await load({
        url: target.url,
        connections: CONFIG.rejectConnections,
        durationSeconds: CONFIG.rejectSeconds,
        warmupSeconds: 1,
        mode: 'fixed',
        body: request.body,
        headers: request.headers,
        expectStatus: 401,
        keepSamples: r === 0,
        serverPid: target.pid,
      });
      if (res.expected !== res.requests || res.errors > 0) throw new Error(`${label} ${which}: not every answer was 401: ${JSON.stringify(res.statuses)}, ${res.errors} errors`);
      if (before && metricsUrl) {
        res.threadCpuSeconds = counterDelta(before.threads, threadCpuSeconds(target.pid));
        res.gcSeconds = counterDelta(before.gc, await gcSeconds(metricsUrl));
      }
      out[which].push(res);
      const gc = res.gcSeconds ? `, GC s ${JSON.stringify(res.gcSeconds)}, CPU s by thread ${JSON.stringify(res.threadCpuSeconds)}` : '';
      log(`  ${label} round ${r + 1} ${which}: ${res.expectedPerSecond.toFixed(0)} req/s, p99 ${res.latencyMs.p99.toFixed(2)} ms, ${cpuPerRequestUs(res).toFixed(1)} µs CPU per request${gc} (load ${loadAverage()})`);
    }
  }
  return out;
}

// ------------------------------------------------------------------ cleanup between phases

async function cleanRuns(ctx: Context): Promise<void> {
  const started = performance.now();
  await waitUntil(
    async () => {
      const left = (await countObjects(ctx.client, RESOURCES.pipelineRuns, NS)) + (await countObjects(ctx.client, RESOURCES.jobs, NS));
      if (left === 0) return true;
      // Again on every pass: requests still in flight when the load stopped may have stored runs since.
      await deleteCollection(ctx.api, RESOURCES.pipelineRuns, NS);
      await deleteCollection(ctx.api, RESOURCES.jobs, NS);
      return false;
    },
    120_000,
    'PipelineRuns and Jobs to be deleted',
    1_000,
  );
  await deleteCollection(ctx.api, RESOURCES.events, NS);
  // The replay records of the deliveries just sent, so that every round starts from the same store.
  await deleteCollection(ctx.api, RESOURCES.deliveryRecords, NS);
  log(`  cleaned PipelineRuns, Jobs, Events and DeliveryRecords in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

// ------------------------------------------------------------------ phases

async function phaseReject(ctx: Context, op: OperatorProcess): Promise<void> {
  log('figure 1: reject path (bad signatures), ours vs bare Koa');
  const path = new URL(ctx.hook.url).pathname;
  const r = await rejectRounds('reject@10', {
    koa: { url: `${ctx.koa.url}${path}`, pid: ctx.koa.pid },
    ours: { url: ctx.hook.url, pid: op.pid, metricsUrl: op.metricsUrl },
    koaVerify: { url: `${ctx.koaVerify.url}${path}`, pid: ctx.koaVerify.pid },
    koaObserve: { url: `${ctx.koaObserve.url}${path}`, pid: ctx.koaObserve.pid },
  });
  const ours = median(r.ours.map((x) => x.expectedPerSecond));
  const koa = median(r.koa.map((x) => x.expectedPerSecond));
  const koaVerify = median(r.koaVerify.map((x) => x.expectedPerSecond));
  const koaObserve = median(r.koaObserve.map((x) => x.expectedPerSecond));
  const [oursCpu, koaCpu, koaVerifyCpu, koaObserveCpu] = [r.ours, r.koa, r.koaVerify, r.koaObserve].map((rounds) => median(rounds.map(cpuPerRequestUs))) as [number, number, number, number];
  const [oursKernel, koaVerifyKernel, koaObserveKernel] = [r.ours, r.koaVerify, r.koaObserve].map((rounds) => median(rounds.map(kernelCpuPerRequestUs))) as [number, number, number];
  ctx.details.reject = {
    triggers: CONFIG.benchTriggers,
    connections: CONFIG.rejectConnections,
    seconds: CONFIG.rejectSeconds,
    ours: r.ours.map(strip),
    koa: r.koa.map(strip),
    koaVerify: r.koaVerify.map(strip),
    koaObserve: r.koaObserve.map(strip),
    operatorMemory: op.memory(),
  };
  ctx.samples['reject: receiver'] = r.ours[0]!.samples ?? [];
  ctx.samples['reject: bare Koa'] = r.koa[0]!.samples ?? [];
  ctx.figures.push(
    figure({
      id: '1',
      name: 'Reject path: bad-signature requests/s',
      value: round(ours, 0),
      unit: 'req/s',
      baselineName: 'bare Koa app answering 401',
      baseline: round(koa, 0),
      target: 'ratio ≥ 0.85',
      met: ours / koa >= 0.85,
      note: `ours ${spread(r.ours.map((x) => x.expectedPerSecond), 'req/s')}; Koa ${spread(r.koa.map((x) => x.expectedPerSecond), 'req/s')}`,
    }),
    figure({
      id: '1b',
      name: 'Reject path, against a Koa app that reads the body and checks an HMAC first',
      value: round(ours, 0),
      unit: 'req/s',
      baselineName: 'Koa app reading the body and verifying HMAC-SHA256, then 401',
      baseline: round(koaVerify, 0),
      target: '—',
      note: `Koa reading and verifying ${spread(r.koaVerify.map((x) => x.expectedPerSecond), 'req/s')}`,
    }),
    figure({
      id: '1c',
      name: `Reject path: CPU per rejected request, the answering process's, from /proc (the bare Koa app: ${round(koaCpu, 1)} µs)`,
      value: round(oursCpu, 1),
      unit: 'µs',
      baselineName: 'Koa app reading the body and verifying HMAC-SHA256 (1b)',
      baseline: round(koaVerifyCpu, 1),
      target: '—',
      note: `ours ${spread(r.ours.map(cpuPerRequestUs), 'µs', 1)}; the kernel's part (the socket's syscalls): ours ${round(oursKernel, 1)} µs, the verifying Koa app ${round(koaVerifyKernel, 1)}, the one that also logs and counts (1d) ${round(koaObserveKernel, 1)}`,
    }),
    figure({
      id: '1d',
      name: 'Reject path, against the verifying Koa app that also writes our log line and metrics',
      value: round(ours, 0),
      unit: 'req/s',
      baselineName: `Koa app verifying HMAC-SHA256, then 401, with the receiver's log line and metrics (observeRequest), ${round(koaObserveCpu, 1)} µs CPU per request`,
      baseline: round(koaObserve, 0),
      target: '—',
      note: `the log line and the metrics alone take the verifying Koa app to ${round(koaObserve / koaVerify, 2)} of itself (1b asks 0.75 of it); logging and verifying Koa ${spread(r.koaObserve.map((x) => x.expectedPerSecond), 'req/s')}`,
    }),
  );
}

/** The answering process's CPU per answered request, in µs, over the timed run. */
function cpuPerRequestUs(r: LoadResult): number {
  return ((r.serverCpuSeconds ?? Number.NaN) * 1e6) / r.requests;
}

/** Of cpuPerRequestUs, the kernel's part. */
function kernelCpuPerRequestUs(r: LoadResult): number {
  return ((r.serverSystemSeconds ?? Number.NaN) * 1e6) / r.requests;
}

/** "min–max over n rounds", for a figure's note: how much the machine's noise moved it. */
function spread(values: number[], unit: string, digits = 0): string {
  if (values.length < 2) return '';
  return `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)} ${unit} over ${values.length} rounds`;
}

function strip(r: LoadResult): Omit<LoadResult, 'samples'> {
  const { samples: _samples, ...rest } = r;
  return rest;
}

async function phaseVerify(ctx: Context): Promise<void> {
  log('figure 2: verification cost, ours vs the standardwebhooks package');
  const res = await runJsonChild<{ rounds: number; sizes: Record<string, Record<string, number>> }>('verify-bench.ts', {}, 180_000);
  ctx.details.verify = res;
  for (const [size, m] of Object.entries(res.sizes)) {
    // The package's verify() also runs JSON.parse by default; the stricter baseline is without it.
    const pkg = Math.min(m['standardwebhooks package']!, m['standardwebhooks package, jsonParse false']!);
    for (const [id, variant] of [
      ['a', 'ours standard-webhooks'],
      ['b', 'ours planasonix'],
    ] as const) {
      const us = m[variant]!;
      ctx.figures.push(
        figure({
          id: `2${size === '1KiB' ? id : id === 'a' ? 'c' : 'd'}`,
          name: `Verification, ${size.replace('KiB', ' KiB')} body: ${variant.replace('ours ', '')} verifier`,
          value: round(us, 1),
          unit: 'µs',
          baselineName: 'standardwebhooks package (jsonParse off)',
          baseline: round(pkg, 1),
          target: 'ratio ≤ 1.0',
          met: us / pkg <= 1.0,
        }),
      );
    }
    log(`  ${size}: ours SW ${m['ours standard-webhooks']!.toFixed(1)} µs, ours planasonix ${m['ours planasonix']!.toFixed(1)} µs, package ${pkg.toFixed(1)} µs`);
  }
}

async function phaseFilter(ctx: Context): Promise<void> {
  log('figure 2e-2g: spec.filter cost per delivery, and the longest a filter can run before it is stopped');
  const res = await runJsonChild<{ rounds: number; sizes: Record<string, Record<string, number>>; stoppedMs: number }>('filter-bench.ts', {}, 180_000);
  ctx.details.filter = res;
  for (const [size, m] of Object.entries(res.sizes)) {
    const us = m['filter (prepare + evaluate)']!;
    const verify = m['planasonix verifier']!;
    ctx.figures.push(
      figure({
        id: size === '1KiB' ? '2e' : '2f',
        name: `Filter, ${size.replace('KiB', ' KiB')} push body: prepare + evaluate a typical CEL filter`,
        value: round(us, 1),
        unit: 'µs',
        baselineName: 'planasonix verifier on the same body',
        baseline: round(verify, 1),
        target: '—',
      }),
    );
    log(`  ${size}: filter ${us.toFixed(1)} µs, verifier ${verify.toFixed(1)} µs`);
  }
  ctx.figures.push(
    figure({
      id: '2g',
      name: 'Filter: the longest one evaluation runs under the default budget (20,000 units, 100 ms)',
      value: round(res.stoppedMs, 1),
      unit: 'ms',
      baselineName: 'the budget\'s clock cap',
      baseline: 100,
      target: '—',
    }),
  );
  log(`  stopped after ${res.stoppedMs.toFixed(1)} ms`);
}

type AcceptTrigger = 'planasonix' | 'planasonix-v2' | 'standard-webhooks';

async function acceptOurs(ctx: Context, op: OperatorProcess, keep: boolean, trigger: AcceptTrigger = 'planasonix'): Promise<LoadResult> {
  const hook = { planasonix: ctx.hook, 'planasonix-v2': ctx.hookV2, 'standard-webhooks': ctx.hookSw }[trigger];
  const scheme = trigger === 'planasonix-v2' ? 'planasonix' : trigger;
  return load({
    url: `${op.receiverUrl}${new URL(hook.url).pathname}`,
    connections: CONFIG.acceptConnections,
    durationSeconds: CONFIG.acceptSeconds,
    maxRequests: CONFIG.acceptMaxRequests,
    warmupSeconds: 1,
    mode: 'signed',
    secret: hook.secret,
    scheme,
    expectStatus: 202,
    keepSamples: keep,
  });
}

async function acceptBare(ctx: Context, keep: boolean): Promise<LoadResult> {
  const spec: BareClientSpec = {
    kubeconfig: ctx.operatorKubeconfig, // the same credentials as the receiver
    namespace: NS,
    trigger: { name: ctx.hook.name, uid: ctx.hook.uid, pipeline: 'export-loader' },
    concurrency: CONFIG.acceptConnections,
    durationSeconds: CONFIG.acceptSeconds,
    maxRequests: CONFIG.acceptMaxRequests,
    warmupSeconds: 1,
    keepSamples: keep,
  };
  return runJsonChild<LoadResult>('bare-client.ts', spec, (CONFIG.acceptSeconds + 90) * 1000);
}

function checkAccept(which: string, r: LoadResult): void {
  const other = r.requests - r.expected;
  log(`  ${which}: ${r.expectedPerSecond.toFixed(0)} runs/s, p50 ${r.latencyMs.p50.toFixed(1)} ms, p99 ${r.latencyMs.p99.toFixed(1)} ms, statuses ${JSON.stringify(r.statuses)}, errors ${r.errors} (load ${loadAverage()})`);
  if (other > r.requests * 0.01 || r.errors > 0) log(`  WARNING ${which}: ${other} answers were not the expected status`);
}

/** Receiver-only operator vs the bare client, alternating, with the namespace emptied between rounds. */
async function phaseAccept(ctx: Context, receiver: OperatorProcess, meters: Record<string, number>): Promise<void> {
  log('figure 3: accept path, receiver (--components=receiver) vs a bare client creating the same PipelineRuns');
  const ours: LoadResult[] = [];
  const bare: LoadResult[] = [];
  // planasonix signed with v2 on a trigger that takes v2 alone (signedDeliveryIdOnly): our own
  // scheme without the record, as planasonix send signs. Alternated with the others, as 3g's target
  // is against the bare client.
  const v2: LoadResult[] = [];
  const cpu: Record<string, unknown>[] = [];
  for (let r = 0; r < CONFIG.acceptRounds; r++) {
    const order: ('ours' | 'bare' | 'ours, planasonix v2')[] = r % 2 === 0 ? ['bare', 'ours', 'ours, planasonix v2'] : ['ours, planasonix v2', 'ours', 'bare'];
    for (const which of order) {
      const meter = new CpuMeter({ ...meters, receiver: receiver.pid });
      const res = which === 'bare' ? await acceptBare(ctx, r === 0) : await acceptOurs(ctx, receiver, r === 0 && which === 'ours', which === 'ours' ? 'planasonix' : 'planasonix-v2');
      cpu.push({ which, round: r + 1, ...meter.read(), clientCpuSeconds: round(res.clientCpuSeconds, 2), answered: res.requests });
      checkAccept(`accept round ${r + 1} ${which}`, res);
      ({ ours, bare, 'ours, planasonix v2': v2 })[which].push(res);
      await cleanRuns(ctx);
    }
  }
  // The same receiver and load, but standard-webhooks: its delivery ID is signed, so the receiver
  // claims no replay key (a DeliveryRecord create) before the run's create. What the record costs
  // the accept path is 3f: planasonix (3a, with the record) against this.
  const swMeter = new CpuMeter({ ...meters, receiver: receiver.pid });
  const sw = await acceptOurs(ctx, receiver, false, 'standard-webhooks');
  cpu.push({ which: 'ours, standard-webhooks', round: 1, ...swMeter.read(), clientCpuSeconds: round(sw.clientCpuSeconds, 2), answered: sw.requests });
  checkAccept('accept standard-webhooks', sw);
  await cleanRuns(ctx);
  const oursRate = median(ours.map((x) => x.expectedPerSecond));
  const bareRate = median(bare.map((x) => x.expectedPerSecond));
  const oursP99 = median(ours.map((x) => x.latencyMs.p99));
  const bareP99 = median(bare.map((x) => x.latencyMs.p99));
  const oursP50 = median(ours.map((x) => x.latencyMs.p50));
  const bareP50 = median(bare.map((x) => x.latencyMs.p50));
  const v2Rate = median(v2.map((x) => x.expectedPerSecond));
  const v2P50 = median(v2.map((x) => x.latencyMs.p50));
  const v2P99 = median(v2.map((x) => x.latencyMs.p99));
  ctx.samples['accept: receiver'] = ours[0]!.samples ?? [];
  ctx.samples['accept: bare client'] = bare[0]!.samples ?? [];
  ctx.details.accept = { connections: CONFIG.acceptConnections, seconds: CONFIG.acceptSeconds, ours: ours.map(strip), bare: bare.map(strip), standardWebhooks: strip(sw), planasonixV2: v2.map(strip), cpu };
  const baselineName = `bare client creating the same PipelineRuns (${CONFIG.acceptConnections} in flight)`;
  ctx.figures.push(
    figure({
      id: '3a',
      name: 'Accept path: deliveries → PipelineRuns per second',
      value: round(oursRate, 0),
      unit: 'runs/s',
      baselineName,
      baseline: round(bareRate, 0),
      target: 'ratio ≥ 0.9',
      met: oursRate / bareRate >= 0.9,
      note: `ours ${spread(ours.map((x) => x.expectedPerSecond), 'runs/s')}; bare ${spread(bare.map((x) => x.expectedPerSecond), 'runs/s')}`,
    }),
    figure({ id: '3b', name: 'Accept path: p99 latency', value: round(oursP99, 1), unit: 'ms', baselineName, baseline: round(bareP99, 1), target: 'ratio ≤ 1.5', met: oursP99 / bareP99 <= 1.5 }),
    figure({ id: '3c', name: 'Accept path: p50 latency', value: round(oursP50, 1), unit: 'ms', baselineName, baseline: round(bareP50, 1), target: '—' }),
    figure({
      id: '3f',
      name: 'Accept path: cost of the replay record (planasonix, with a DeliveryRecord per delivery)',
      value: round(oursRate, 0),
      unit: 'runs/s',
      baselineName: 'the same receiver, standard-webhooks (signed delivery ID, no record; 3e)',
      baseline: round(sw.expectedPerSecond, 0),
      target: '—',
      note: `p99 ${oursP99.toFixed(1)} ms with the record, ${sw.latencyMs.p99.toFixed(1)} ms without; one more create per delivery in the API server`,
    }),
    figure({
      id: '3e',
      name: 'Accept path, standard-webhooks trigger (no replay record)',
      value: round(sw.expectedPerSecond, 0),
      unit: 'runs/s',
      baselineName: 'bare client (3a)',
      baseline: round(bareRate, 0),
      target: '—',
      note: `p50 ${sw.latencyMs.p50.toFixed(1)} ms, p99 ${sw.latencyMs.p99.toFixed(1)} ms`,
    }),
    figure({
      id: '3g',
      name: 'Accept path, planasonix trigger with signedDeliveryIdOnly (v2 signatures, no replay record)',
      value: round(v2Rate, 0),
      unit: 'runs/s',
      baselineName: 'bare client (3a)',
      baseline: round(bareRate, 0),
      target: 'ratio ≥ 0.9',
      met: v2Rate / bareRate >= 0.9,
      note: `ours ${spread(v2.map((x) => x.expectedPerSecond), 'runs/s')}; p50 ${v2P50.toFixed(1)} ms, p99 ${v2P99.toFixed(1)} ms (ratio to the bare client's p99 ${(v2P99 / bareP99).toFixed(2)})`,
    }),
  );
}

/** The same load against the full operator, whose run controller creates a Job per run meanwhile. */
async function phaseAcceptFull(ctx: Context, op: OperatorProcess, meters: Record<string, number>): Promise<void> {
  log('figure 3 (informational): accept path through the full operator (run controller creating Jobs at the same time)');
  const meter = new CpuMeter({ ...meters, operator: op.pid });
  const res = await acceptOurs(ctx, op, false);
  const cpu = meter.read();
  checkAccept('accept full operator', res);
  const bareRate = (ctx.figures.find((f) => f.id === '3a')?.baseline ?? Number.NaN) as number;
  const jobs = await countObjects(ctx.client, RESOURCES.jobs, NS);
  ctx.details.acceptFullOperator = { result: strip(res), cpu, jobsWhenLoadEnded: jobs };
  ctx.figures.push(
    figure({
      id: '3d',
      name: 'Accept path through the full operator (Jobs created meanwhile)',
      value: round(res.expectedPerSecond, 0),
      unit: 'runs/s',
      baselineName: 'bare client (3a)',
      baseline: bareRate,
      target: '—',
      note: `${jobs} of ${res.expected} Jobs existed when the load ended`,
    }),
  );
  await waitUntil(async () => (await countObjects(ctx.client, RESOURCES.jobs, NS)) >= res.expected, 120_000, 'the run controller to catch up', 500).catch(() => {});
  await cleanRuns(ctx);
}

async function phaseE2EBaseline(ctx: Context): Promise<E2EResult> {
  log('figure 5 baseline: a bare client writing the PipelineRun and its Job back to back');
  const pipeline = await ctx.client.get<ReturnType<typeof benchPipeline>>(RESOURCES.pipelines, NS, 'export-loader');
  const base = await measureE2EBaseline({
    client: ctx.client,
    api: ctx.api,
    namespace: NS,
    pipeline,
    trigger: { name: ctx.hook.name, uid: ctx.hook.uid },
    deliveries: CONFIG.e2eDeliveries,
    concurrency: CONFIG.e2eConcurrency,
  });
  await cleanRuns(ctx);
  return base;
}

/** What the API server was asked to write for a batch of deliveries, until the operator went quiet. */
interface WritesPerDelivery {
  result: E2EResult;
  writes: Record<string, number>;
  perDelivery: number;
  /** "<verb> <resource> <code> <per delivery>", most first. */
  byKind: string;
}

// Read before the batch once the operator has stopped writing on its own, and after it once 2 s
// pass without a write: the run controller's writes after the Job (the run's status, its Event)
// trail the Job's ADDED.
async function deliverAndCountWrites(ctx: Context, op: OperatorProcess, hook: Hook): Promise<WritesPerDelivery> {
  const before = await quietRequestCounts(() => requestCounts(op.metricsUrl), { quietMs: 1_000, timeoutMs: 10_000 });
  const result = await measureE2E({
    client: ctx.client,
    namespace: NS,
    url: `${op.receiverUrl}${new URL(hook.url).pathname}`,
    secret: hook.secret,
    deliveries: CONFIG.e2eDeliveries,
    concurrency: CONFIG.e2eConcurrency,
  });
  const writes = writesBetween(before, await quietRequestCounts(() => requestCounts(op.metricsUrl), { quietMs: 2_000, timeoutMs: 20_000 }));
  const accepted = result.deliveries; // measureE2E throws unless every delivery was answered 202
  const byKind = Object.entries(writes)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => `${kind} ${round(n / accepted, 2)}`)
    .join(', ');
  return { result, writes, perDelivery: Object.values(writes).reduce((a, b) => a + b, 0) / accepted, byKind };
}

async function phaseE2E(ctx: Context, op: OperatorProcess, base: E2EResult | undefined): Promise<void> {
  log(`figure 5: end to end, ${CONFIG.e2eDeliveries} deliveries at concurrency ${CONFIG.e2eConcurrency}, 202 → Job ADDED`);
  const counted = await deliverAndCountWrites(ctx, op, ctx.hook);
  const ours = counted.result;
  const o = summarize(ours.acceptedToJobMs);
  const os = summarize(ours.sentToJobMs);
  const b = base ? summarize(base.acceptedToJobMs) : undefined;
  const bs = base ? summarize(base.sentToJobMs) : undefined;
  log(`  ours: 202 → Job p50 ${o.p50.toFixed(1)} ms, p99 ${o.p99.toFixed(1)} ms; sent → Job p50 ${os.p50.toFixed(1)} ms, p99 ${os.p99.toFixed(1)} ms; missing ${ours.missing}`);
  if (b && bs) log(`  bare: run stored → Job p50 ${b.p50.toFixed(1)} ms, p99 ${b.p99.toFixed(1)} ms; sent → Job p50 ${bs.p50.toFixed(1)} ms, p99 ${bs.p99.toFixed(1)} ms`);
  log(`  API writes per delivery: ${counted.perDelivery.toFixed(2)} (${counted.byKind})`);
  await cleanRuns(ctx);
  // The same deliveries to the signedDeliveryIdOnly trigger, whose receiver writes no DeliveryRecord.
  const signedId = await deliverAndCountWrites(ctx, op, ctx.hookV2);
  log(`  API writes per delivery, signedDeliveryIdOnly: ${signedId.perDelivery.toFixed(2)} (${signedId.byKind})`);
  ctx.samples['e2e: sent → Job, operator'] = ours.sentToJobMs;
  if (base) ctx.samples['e2e: sent → Job, bare client'] = base.sentToJobMs;
  ctx.details.e2e = {
    ours: { acceptedToJob: o, sentToJob: os, sentToAccepted: summarize(ours.sentToAcceptedMs), missing: ours.missing },
    ...(base ? { bare: { runStoredToJob: b, sentToJob: bs, missing: base.missing } } : {}),
    writes: counted.writes,
    writesSignedDeliveryIdOnly: signedId.writes,
  };
  const baseName = 'bare client: PipelineRun stored → its Job written';
  const writesFigure = (id: string, trigger: string, w: WritesPerDelivery) =>
    figure({
      id,
      name: `End to end: writes to the API server per accepted delivery, ${trigger}, until the run shows its Job (per delivery, by verb, resource and status code: ${w.byKind})`,
      value: round(w.perDelivery, 2),
      unit: 'writes',
      baselineName: 'bare client: the run and its Job',
      baseline: 2,
      target: '—',
    });
  ctx.figures.push(
    figure({ id: '5a', name: 'End to end: 202 → Job ADDED, p50', value: round(o.p50, 1), unit: 'ms', baselineName: baseName, baseline: round(b?.p50 ?? Number.NaN, 1), target: '—' }),
    figure({ id: '5b', name: 'End to end: 202 → Job ADDED, p99', value: round(o.p99, 1), unit: 'ms', baselineName: baseName, baseline: round(b?.p99 ?? Number.NaN, 1), target: '—' }),
    figure({ id: '5c', name: 'End to end: request sent → Job ADDED, p50', value: round(os.p50, 1), unit: 'ms', baselineName: 'bare client: both writes, sent → Job ADDED', baseline: round(bs?.p50 ?? Number.NaN, 1), target: '—' }),
    figure({ id: '5d', name: 'End to end: request sent → Job ADDED, p99', value: round(os.p99, 1), unit: 'ms', baselineName: 'bare client: both writes, sent → Job ADDED', baseline: round(bs?.p99 ?? Number.NaN, 1), target: '—' }),
    writesFigure('5e', 'planasonix', counted),
    writesFigure('5f', 'planasonix with signedDeliveryIdOnly', signedId),
  );
  await cleanRuns(ctx);
}

interface MemoryAt10 {
  all: number;
  receiver: number | undefined;
  allDetail?: unknown;
  receiverDetail?: unknown;
}

interface ScaleResult {
  count: number;
  createSeconds: number;
  readySeconds: number;
  readyCount: number;
  timedOut: boolean;
  cpu: ReturnType<CpuMeter['read']>;
}

async function scaleTriggers(ctx: Context, op: OperatorProcess, count: number, meters: Record<string, number>): Promise<ScaleResult> {
  const ns = `scale-${count}`;
  await createNamespace(ctx.client, ns);
  await ctx.client.create(RESOURCES.pipelines, benchPipeline(ns));
  const watch = await watchTriggersReady(ctx.client, ns, count, CONFIG.scaleTimeoutMs);
  const meter = new CpuMeter({ ...meters, operator: op.pid, 'bench (creates + watch)': process.pid });
  const started = performance.now();
  const progress = setInterval(() => log(`  ${ns}: ${watch.readyCount()} Ready (load ${loadAverage()}, operator RSS ${op.memory().rssMiB.toFixed(0)} MiB)`), 10_000);
  let createSeconds = Number.NaN;
  let readyAt: number | undefined;
  try {
    await runBounded(count, CONFIG.scaleConcurrency, async (i) => {
      await ctx.client.create(RESOURCES.webhookTriggers, benchTrigger(ns, `t-${String(i).padStart(5, '0')}`));
    });
    createSeconds = (performance.now() - started) / 1000;
    log(`  ${ns}: ${count} creates done in ${createSeconds.toFixed(1)} s (${watch.readyCount()} Ready so far)`);
    readyAt = await watch.allReady;
  } catch (e) {
    log(`  ${ns}: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    clearInterval(progress);
    watch.stop();
  }
  const cpu = meter.read();
  const result: ScaleResult = {
    count,
    createSeconds: round(createSeconds, 2),
    readySeconds: round(((readyAt ?? performance.now()) - started) / 1000, 2),
    readyCount: watch.readyCount(),
    timedOut: readyAt === undefined,
    cpu,
  };
  log(`  ${ns}: ${result.readyCount} of ${count} Ready after ${result.readySeconds} s; CPU s ${JSON.stringify(cpu.cpuSeconds)}`);
  return result;
}

/** 30000 → "30,000", as the figures name counts. */
const grouped = (n: number) => n.toLocaleString('en-US');

async function phaseScale(ctx: Context, op: OperatorProcess, meters: Record<string, number>, rssAt10: MemoryAt10): Promise<void> {
  log('figure 4f: routing-table look-up with 10 and with 10,000 routes (its own process)');
  const routing = await runJsonChild<{ nsAt10: number; nsAt10000: number }>('routing-bench.ts', {}, 120_000);
  log(`  ${routing.nsAt10.toFixed(0)} ns per look-up at 10 routes, ${routing.nsAt10000.toFixed(0)} ns at 10,000`);
  ctx.details.routing = routing;
  const routingFigure = figure({
    id: '4f',
    name: 'Routing-table look-up with 10,000 routes',
    value: round(routing.nsAt10000, 0),
    unit: 'ns',
    baselineName: 'the same with 10 routes',
    baseline: round(routing.nsAt10, 0),
    target: '—',
    note: `a Map look-up: constant time, but at 10,000 routes it misses the CPU caches; ${((routing.nsAt10000 - routing.nsAt10) / 1000).toFixed(2)} µs more per request`,
  });
  const idleReceiver = await startOperator(ctx, 'receiver', 'receiver-breakdown');
  await new Promise((r) => setTimeout(r, 2_000));
  const idleBreakdown = await breakdownOf(idleReceiver, `a receiver replica with ${CONFIG.benchTriggers} triggers`);
  await stopOperator(ctx, idleReceiver);
  log(`figure 4: ${CONFIG.scaleSmall} and ${CONFIG.scaleLarge} WebhookTriggers to Ready (creates at concurrency ${CONFIG.scaleConcurrency})`);
  const small = await scaleTriggers(ctx, op, CONFIG.scaleSmall, meters);
  const deleteMs = await deleteNamespaceAndWait(ctx.client, `scale-${CONFIG.scaleSmall}`, 300_000).catch((e: unknown) => {
    log(`  deleting scale-${CONFIG.scaleSmall}: ${String(e)}`);
    return Number.NaN;
  });
  log(`  deleted scale-${CONFIG.scaleSmall} in ${(deleteMs / 1000).toFixed(1)} s`);
  const large = await scaleTriggers(ctx, op, CONFIG.scaleLarge, meters);
  await new Promise((r) => setTimeout(r, 3_000)); // let the last status writes and events land
  const memAll = op.memory();
  const heapAll = await op.heap();
  log(`  operator (all components) RSS with ${CONFIG.scaleLarge} triggers: ${memAll.rssMiB.toFixed(0)} MiB (peak ${memAll.peakMiB.toFixed(0)} MiB), V8 heap ${heapAll.usedMiB.toFixed(0)} MiB used of ${heapAll.totalMiB.toFixed(0)} MiB`);

  const replica = await freshReceiverReplica(ctx, 'receiver-at-scale', ctx.nodeOptions, `the same with ${CONFIG.scaleLarge} triggers`);
  ctx.details.memoryBreakdown = { [CONFIG.benchTriggers]: idleBreakdown, [CONFIG.scaleLarge]: replica.breakdown };

  ctx.details.scale = {
    small,
    large,
    deleteSmallNamespaceSeconds: round(deleteMs / 1000, 1),
    operator: { memory: memAll, heap: heapAll, atBenchTriggers: rssAt10.allDetail },
    receiverReplica: { readySeconds: replica.readySeconds, memory: replica.memory, heap: replica.heap, atBenchTriggers: rssAt10.receiverDetail },
  };
  ctx.figures.push(
    figure({
      id: '4a',
      name: `${grouped(small.count)} WebhookTriggers Ready`,
      value: small.readySeconds,
      unit: 's',
      baselineName: 'the same creates alone (API server)',
      baseline: small.createSeconds,
      target: '—',
      note: small.timedOut ? `timed out: ${small.readyCount} Ready` : undefined,
    }),
    figure({
      id: '4b',
      name: `${grouped(large.count)} WebhookTriggers Ready`,
      value: large.readySeconds,
      unit: 's',
      baselineName: 'the same creates alone (API server)',
      baseline: large.createSeconds,
      target: '< 40 s',
      met: !large.timedOut && large.readySeconds < 40 && large.count >= 10_000,
      note: large.timedOut ? `timed out: ${large.readyCount} Ready` : large.count < 10_000 ? 'BENCH_QUICK: fewer triggers than the target names' : undefined,
    }),
    figure({
      id: '4c',
      name: `Operator RSS (controllers + receiver) at ${grouped(large.count)} triggers`,
      value: round(memAll.rssMiB, 0),
      unit: 'MiB',
      baselineName: `the same process at ${CONFIG.benchTriggers} triggers`,
      baseline: round(rssAt10.all, 0),
      target: '< 256 MiB',
      met: memAll.rssMiB < 256,
      note: `peak ${memAll.peakMiB.toFixed(0)} MiB; V8 heap ${heapAll.usedMiB.toFixed(0)} MiB used`,
    }),
    figure({
      id: '4d',
      name: `Receiver replica RSS at ${grouped(large.count)} triggers`,
      value: round(replica.memory.rssMiB, 0),
      unit: 'MiB',
      baselineName: `a receiver replica at ${CONFIG.benchTriggers} triggers`,
      baseline: round(rssAt10.receiver ?? Number.NaN, 0),
      target: '≤ 200 MiB',
      met: replica.memory.rssMiB <= 200,
      note: `ready (all routes loaded) ${replica.readySeconds.toFixed(1)} s after start; peak ${replica.memory.peakMiB.toFixed(0)} MiB; V8 heap ${replica.heap.usedMiB.toFixed(0)} MiB used`,
    }),
  );

  log(`figure 4e: reject path with ${CONFIG.scaleLarge} triggers loaded`);
  const reject = await rejectWithTriggersLoaded(ctx, '4e', CONFIG.scaleLarge, ctx.nodeOptions);
  ctx.details.rejectAtScale = reject.detail;
  ctx.figures.push(reject.figure);
  ctx.figures.push(routingFigure);
}

interface ReplicaMeasure {
  readySeconds: number;
  memory: ReturnType<OperatorProcess['memory']>;
  heap: Awaited<ReturnType<OperatorProcess['heap']>>;
  breakdown?: MemoryBreakdown | undefined;
}

/**
 * A fresh receiver replica: how long it takes to load every route, and what it holds in memory.
 * With `breakdownLabel`, also its memory by part (a heap snapshot: seconds per 100 MiB of heap).
 */
async function freshReceiverReplica(ctx: Context, processLabel: string, nodeOptions: string[], breakdownLabel?: string): Promise<ReplicaMeasure> {
  const syncStarted = performance.now();
  const receiver = await startOperator(ctx, 'receiver', processLabel, { nodeOptions });
  const readySeconds = round((performance.now() - syncStarted) / 1000, 1);
  await new Promise((r) => setTimeout(r, 2_000));
  const memory = receiver.memory();
  const heap = await receiver.heap();
  log(`  fresh receiver replica: ready in ${readySeconds} s, RSS ${memory.rssMiB.toFixed(0)} MiB (peak ${memory.peakMiB.toFixed(0)} MiB), V8 heap ${heap.usedMiB.toFixed(0)} MiB used`);
  const breakdown = breakdownLabel === undefined ? undefined : await breakdownOf(receiver, breakdownLabel);
  await stopOperator(ctx, receiver);
  return { readySeconds, memory, heap, breakdown };
}

/** Pairs of fresh replicas figures 4e and 4j measure, each for SCALE_REJECT_ROUNDS_PER_PAIR rounds. */
const SCALE_REJECT_PAIRS = Number(process.env.BENCH_SCALE_PAIRS ?? 2);
const SCALE_REJECT_ROUNDS_PER_PAIR = QUICK || process.env.BENCH_SCALE_PAIRS !== undefined ? 2 : 3;
/** Flags for the replica serving every trigger alone, for experiments on what makes it slow. */
const SCALE_EXTRA_NODE_OPTIONS = (process.env.BENCH_SCALE_EXTRA_NODE_OPTIONS ?? '').split(' ').filter(Boolean);

/**
 * Figure 1's load on two receiver replicas as the receiver Deployment runs them, alternated round by
 * round: one serving every trigger of the cluster (`count` and the bench's), one watching only the
 * bench's namespace (its 10). Same flags, same process kind, same minutes of the machine: the ratio
 * is what the number of triggers costs a rejected request, not what the machine did meanwhile.
 * Two pairs of fresh processes, not one: a single pair read 1.10 in one run and 0.84 in the next
 * with nothing changed, because a replica holding many triggers runs either as fast as its twin or
 * 15–20% slower for its whole life (docs/benchmarks.md, Findings); two pairs show both kinds more often.
 */
async function rejectWithTriggersLoaded(ctx: Context, id: string, count: number, nodeOptions: string[], extraNote = ''): Promise<{ figure: Figure; detail: unknown }> {
  const path = new URL(ctx.hook.url).pathname;
  const target = (op: OperatorProcess): RejectTarget => ({ url: `${op.receiverUrl}${path}`, pid: op.pid, metricsUrl: op.metricsUrl });
  const r: Record<'few' | 'all', RejectRound[]> = { few: [], all: [] };
  for (let pair = 1; pair <= SCALE_REJECT_PAIRS; pair++) {
    const few = await startOperator(ctx, 'receiver', `receiver-${CONFIG.benchTriggers}-${pair}`, { nodeOptions, extraArgs: [`--namespaces=${NS}`] });
    const all = await startOperator(ctx, 'receiver', `receiver-${count}-${pair}`, { nodeOptions: [...nodeOptions, ...SCALE_EXTRA_NODE_OPTIONS] });
    try {
      const rounds = await rejectRounds(`reject@${count} pair ${pair}`, { few: target(few), all: target(all) }, SCALE_REJECT_ROUNDS_PER_PAIR);
      r.few.push(...rounds.few);
      r.all.push(...rounds.all);
    } finally {
      await stopOperator(ctx, few);
      await stopOperator(ctx, all);
    }
  }
  const [oursAll, oursFew] = [r.all, r.few].map((rounds) => median(rounds.map((x) => x.expectedPerSecond))) as [number, number];
  const [cpuAll, cpuFew] = [r.all, r.few].map((rounds) => median(rounds.map(cpuPerRequestUs))) as [number, number];
  const gcUsPerRequest = (rounds: RejectRound[]) => median(rounds.map((x) => (Object.values(x.gcSeconds ?? {}).reduce((a, b) => a + b, 0) * 1e6) / x.requests));
  return {
    detail: { triggers: count, nodeOptions: nodeOptions.join(' '), all: r.all.map(strip), few: r.few.map(strip) },
    figure: figure({
      id,
      name: `Reject path req/s with ${grouped(count)} triggers loaded`,
      value: round(oursAll, 0),
      unit: 'req/s',
      baselineName: `a receiver replica watching only the bench's ${CONFIG.benchTriggers} triggers, alternated with it`,
      baseline: round(oursFew, 0),
      target: 'ratio ≥ 0.95',
      met: oursAll / oursFew >= 0.95,
      note:
        `${extraNote}${SCALE_EXTRA_NODE_OPTIONS.length > 0 ? `the replica serving every trigger with ${SCALE_EXTRA_NODE_OPTIONS.join(' ')}; ` : ''}${spread(r.all.map((x) => x.expectedPerSecond), 'req/s')} against ${spread(r.few.map((x) => x.expectedPerSecond), 'req/s')}; ` +
        `CPU per request ${cpuAll.toFixed(1)} against ${cpuFew.toFixed(1)} µs, of it GC ${gcUsPerRequest(r.all).toFixed(1)} against ${gcUsPerRequest(r.few).toFixed(1)} µs`,
    }),
  };
}

/**
 * Figure 4g–4j: issue 16's 30,000-trigger point. The Deployment's 160 MiB old-space cap is sized for
 * 10,000 triggers (4c, 4d), so this point runs with the cap that a deployment of this size sets
 * (SCALE_XL_OLD_SPACE_MIB), in a fresh operator, after the large namespace of figure 4 is deleted:
 * the operator then holds the bench's few triggers and these. Returns the operator it leaves
 * running, for main to stop.
 */
async function phaseScaleXl(ctx: Context, op: BenchOperator, meters: Record<string, number>, rssAt10: MemoryAt10): Promise<BenchOperator> {
  const count = CONFIG.scaleXl;
  const nodeOptions = [...ctx.nodeOptions.filter((o) => !o.startsWith('--max-old-space-size')), `--max-old-space-size=${SCALE_XL_OLD_SPACE_MIB}`];
  log(`figure 4g–4j: ${grouped(count)} WebhookTriggers, operator with ${nodeOptions.join(' ')}`);
  await stopOperator(ctx, op);
  const deleteMs = await deleteNamespaceAndWait(ctx.client, `scale-${CONFIG.scaleLarge}`, 900_000);
  log(`  deleted scale-${CONFIG.scaleLarge} in ${(deleteMs / 1000).toFixed(1)} s`);
  const xl = await startOperator(ctx, 'all', 'operator-xl', { nodeOptions });
  const result = await scaleTriggers(ctx, xl, count, meters);
  await new Promise((r) => setTimeout(r, 3_000)); // let the last status writes and events land
  const memAll = xl.memory();
  const heapAll = await xl.heap();
  log(`  operator (all components) RSS with ${count} triggers: ${memAll.rssMiB.toFixed(0)} MiB (peak ${memAll.peakMiB.toFixed(0)} MiB), V8 heap ${heapAll.usedMiB.toFixed(0)} MiB used`);
  const replica = await freshReceiverReplica(ctx, 'receiver-at-xl', nodeOptions);
  log(`figure 4j: reject path with ${count} triggers loaded`);
  const cap = `old-space cap ${SCALE_XL_OLD_SPACE_MIB} MiB; `;
  const reject = await rejectWithTriggersLoaded(ctx, '4j', count, nodeOptions, cap);
  ctx.details.scaleXl = {
    result,
    nodeOptions: nodeOptions.join(' '),
    deleteLargeNamespaceSeconds: round(deleteMs / 1000, 1),
    operator: { memory: memAll, heap: heapAll },
    receiverReplica: replica,
    reject: reject.detail,
  };
  ctx.figures.push(
    figure({
      id: '4g',
      name: `${grouped(count)} WebhookTriggers Ready`,
      value: result.readySeconds,
      unit: 's',
      baselineName: 'the same creates alone (API server)',
      baseline: result.createSeconds,
      target: '—',
      note: result.timedOut ? `timed out: ${result.readyCount} Ready` : undefined,
    }),
    figure({
      id: '4h',
      name: `Operator RSS (controllers + receiver) at ${grouped(count)} triggers`,
      value: round(memAll.rssMiB, 0),
      unit: 'MiB',
      baselineName: `the same process at ${CONFIG.benchTriggers} triggers`,
      baseline: round(rssAt10.all, 0),
      target: '—',
      note: `${cap}peak ${memAll.peakMiB.toFixed(0)} MiB; V8 heap ${heapAll.usedMiB.toFixed(0)} MiB used`,
    }),
    figure({
      id: '4i',
      name: `Receiver replica RSS at ${grouped(count)} triggers`,
      value: round(replica.memory.rssMiB, 0),
      unit: 'MiB',
      baselineName: `a receiver replica at ${CONFIG.benchTriggers} triggers`,
      baseline: round(rssAt10.receiver ?? Number.NaN, 0),
      target: '—',
      note: `${cap}ready (all routes loaded) ${replica.readySeconds} s after start; peak ${replica.memory.peakMiB.toFixed(0)} MiB; V8 heap ${replica.heap.usedMiB.toFixed(0)} MiB used`,
    }),
  );
  ctx.figures.push(reject.figure);
  return xl;
}

/** A receiver replica's memory by part and its heap by type; undefined (and said) if that failed. */
async function breakdownOf(op: BenchOperator, what: string): Promise<MemoryBreakdown | undefined> {
  try {
    const b = await memoryBreakdown(op.pid, op.metricsUrl, op.snapshotDir);
    log(`  ${what}: RSS ${b.rssMiB} MiB (anonymous ${b.rssAnonMiB}, files ${b.rssFileMiB}); heap snapshot ${b.heapSnapshotMiB} MiB, largest: ${b.heapTopGroups.slice(0, 3).map((g) => `${g.name} ${g.MiB}`).join(', ')}`);
    return b;
  } catch (e) {
    log(`  ${what}: no memory breakdown (${String(e)})`);
    return undefined;
  }
}

// ------------------------------------------------------------------ the accept path over a long run

/**
 * Why a long run's accept path is slower than the short rounds of figure 3 (issue 16): one fresh
 * receiver replica, and chunks of the same load that rotate between the bare client, a planasonix
 * trigger and a github trigger, runs kept until CONFIG.longRuns are stored. The PipelineRun cache
 * (the replay index) grows for all three alike, and drift of a shared machine hits each alike. Per
 * chunk: rate, latency, the receiver's CPU, RSS, heap and GC time. With BENCH_CPU_PROFILE=1 the
 * receiver's profile covers the whole run.
 */
async function phaseLongAccept(ctx: Context, meters: Record<string, number>): Promise<void> {
  log(`long accept: ${CONFIG.longRuns} runs stored, ${CONFIG.longChunkSeconds} s chunks rotating bare client, planasonix, github`);
  await cleanRuns(ctx);
  const receiver = await startOperator(ctx, 'receiver', 'receiver-long');
  const result: Record<string, LongAcceptChunk[]> = { bare: [], planasonix: [], github: [] };
  try {
    let gcBefore = await gcSeconds(receiver.metricsUrl);
    let stored = 0;
    for (let i = 0; stored < CONFIG.longRuns && i < 300; i++) {
      const which = (['bare', 'planasonix', 'github'] as const)[i % 3]!;
      const meter = new CpuMeter({ ...meters, receiver: receiver.pid });
      let res: LoadResult;
      if (which === 'bare') {
        res = await runJsonChild<LoadResult>(
          'bare-client.ts',
          {
            kubeconfig: ctx.operatorKubeconfig,
            namespace: NS,
            trigger: { name: ctx.hook.name, uid: ctx.hook.uid, pipeline: 'export-loader' },
            concurrency: CONFIG.acceptConnections,
            durationSeconds: CONFIG.longChunkSeconds,
            maxRequests: 2_000_000,
          } satisfies BareClientSpec,
          (CONFIG.longChunkSeconds + 90) * 1000,
        );
      } else {
        const hook = which === 'github' ? ctx.hookGh : ctx.hook;
        res = await load({
          url: `${receiver.receiverUrl}${new URL(hook.url).pathname}`,
          connections: CONFIG.acceptConnections,
          durationSeconds: CONFIG.longChunkSeconds,
          mode: 'signed',
          secret: hook.secret,
          scheme: which,
          expectStatus: 202,
        });
      }
      const cpu = meter.read();
      stored = await countObjects(ctx.client, RESOURCES.pipelineRuns, NS);
      const gc = await gcSeconds(receiver.metricsUrl);
      const chunk: LongAcceptChunk = {
        stored,
        runs: res.expected,
        runsPerSecond: round(res.expectedPerSecond, 0),
        p50: round(res.latencyMs.p50, 1),
        p99: round(res.latencyMs.p99, 1),
        cpuSeconds: cpu.cpuSeconds,
        gcSeconds: counterDelta(gcBefore, gc),
        rssMiB: round(receiver.memory().rssMiB, 0),
        heapUsedMiB: round((await receiver.heap()).usedMiB, 0),
      };
      gcBefore = gc;
      result[which]!.push(chunk);
      log(
        `  ${which}: ${stored} stored; ${chunk.runsPerSecond} runs/s, p50 ${chunk.p50} ms, p99 ${chunk.p99} ms, RSS ${chunk.rssMiB} MiB, heap ${chunk.heapUsedMiB} MiB, ` +
          `GC s ${JSON.stringify(chunk.gcSeconds)}, CPU s ${JSON.stringify(cpu.cpuSeconds)} (load ${loadAverage()})`,
      );
    }
  } finally {
    await stopOperator(ctx, receiver);
  }
  await cleanRuns(ctx);
  ctx.details.longAccept = { runs: CONFIG.longRuns, chunkSeconds: CONFIG.longChunkSeconds, chunks: result };
}

// ------------------------------------------------------------------ peers

type PeerBuilds = Parameters<typeof startPeers>[1];

/**
 * Figure 6: the receiver against Tekton Triggers and Flux's Receiver on the same GitHub-signed
 * load. Ours is the receiver-only replica (no controller writes meanwhile; the peers run no
 * controller either), on the github trigger hook-gh.
 */
async function phasePeers(ctx: Context, builds: PeerBuilds, meters: Record<string, number>, cleanup: (() => Promise<void>)[]): Promise<void> {
  log('figure 6: ours against Tekton Triggers and Flux, the same GitHub-signed 1 KiB deliveries');
  const receiver = await startOperator(ctx, 'receiver', 'receiver-peers');
  cleanup.unshift(() => receiver.stop());
  const rbac = path.join(repoRoot, 'bench/peers/rbac.yaml');
  await kubectl(ctx.plane, ['apply', '--server-side', '-f', rbac]);
  const kubeconfig = await tokenKubeconfig(ctx.plane, 'bench-peers', 'peers', path.join(ctx.workDir, 'peers.kubeconfig'));
  const { targets, failures } = await startPeers(
    { client: ctx.client, api: ctx.api, kubectl: (args) => kubectl(ctx.plane, args), kubeconfig, workDir: ctx.workDir, signingSecret: ctx.hookGh.secret, log },
    builds,
  );
  for (const t of targets) cleanup.unshift(() => t.stop());
  const ours: ReceiverTarget = {
    id: 'ours',
    label: 'ours (receiver replica)',
    url: `${receiver.receiverUrl}${new URL(ctx.hookGh.url).pathname}`,
    acceptStatus: 202,
    pids: () => [receiver.pid],
    persisted: () => countObjects(ctx.client, RESOURCES.pipelineRuns, NS),
    clean: () => cleanRuns(ctx),
    reset: async () => {},
    stop: async () => {},
  };
  // Idle RSS: each process after it started and settled, before any load.
  await new Promise((r) => setTimeout(r, 2_000));
  const idle: Record<string, number> = {};
  for (const t of [ours, ...targets]) idle[t.id] = t.pids().reduce((s, pid) => s + processMemory(pid).rssMiB, 0);
  const comparison = await comparePeers([ours, ...targets], failures, idle, CONFIG.peers, ctx.hookGh.secret, log, meters);
  for (const t of targets) await t.stop().catch(() => {});
  await stopOperator(ctx, receiver);
  ctx.details.peers = comparison;
  printPeers(comparison);
}

function printPeers(c: PeerComparison): void {
  const { header, rows, failures } = peerTable(c);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
  process.stdout.write(`\n${line(header)}\n${rows.map(line).join('\n')}\n${failures.join('\n')}\n`);
}

// ------------------------------------------------------------------ setup

/**
 * deploy/'s namespace, ServiceAccount and RBAC, and a kubeconfig with a token of that ServiceAccount:
 * the operator authenticates and is authorized as in a cluster. (With the control plane's admin
 * client certificate instead, the API server verified a certificate chain on every request, 7% of
 * its CPU while 10,000 triggers became Ready, a cost no deployment pays.)
 */
async function serviceAccountKubeconfig(plane: ControlPlane, workDir: string): Promise<string> {
  const built = parseAllDocuments(await kubectl(plane, ['kustomize', path.join(repoRoot, 'deploy')])).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } });
  const rbac = built.filter((o) => ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind));
  const account = rbac.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'planasonix-webhook-operator')!;
  // The bench runs the controllers and the receiver in one process, as `make dev` does; deploy/
  // gives them two ServiceAccounts, so the operator's also gets the receiver's ClusterRole here.
  const receiverRole = rbac.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'planasonix-webhook-receiver')!;
  rbac.push({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'planasonix-bench-operator-as-receiver' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: receiverRole.metadata.name },
    subjects: [{ kind: 'ServiceAccount', name: account.metadata.name, namespace: account.metadata.namespace }],
  } as (typeof rbac)[number]);
  const rbacFile = path.join(workDir, 'rbac.yaml');
  writeFileSync(rbacFile, rbac.map((o) => JSON.stringify(o)).join('\n---\n'));
  await kubectl(plane, ['apply', '--server-side', '-f', rbacFile]);
  return tokenKubeconfig(plane, account.metadata.namespace!, account.metadata.name, path.join(workDir, 'operator.kubeconfig'));
}

/** A kubeconfig that authenticates with a fresh token of the ServiceAccount. */
async function tokenKubeconfig(plane: ControlPlane, namespace: string, account: string, file: string): Promise<string> {
  const token = (await kubectl(plane, ['create', 'token', account, '-n', namespace, '--duration=6h'])).trim();
  const admin = new KubeConfig();
  admin.loadFromFile(plane.kubeconfig);
  const cluster = admin.getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: cluster.name, server: cluster.server, caData: cluster.caData ?? readFileSync(cluster.caFile!).toString('base64') }],
    users: [{ name: account, token }],
    contexts: [{ name: account, cluster: cluster.name, user: account }],
    currentContext: account,
  });
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return file;
}

async function setupBenchNamespace(ctx: Pick<Context, 'client'>): Promise<void> {
  await createNamespace(ctx.client, NS);
  await ctx.client.create(RESOURCES.pipelines, benchPipeline(NS));
  await runBounded(CONFIG.benchTriggers, 8, async (i) => {
    await ctx.client.create(RESOURCES.webhookTriggers, benchTrigger(NS, `hook-${i}`));
  });
  const sw = benchTrigger(NS, 'hook-sw');
  sw.spec.auth = { scheme: 'standard-webhooks', tolerance: '5m' };
  await ctx.client.create(RESOURCES.webhookTriggers, sw);
  const v2 = benchTrigger(NS, 'hook-v2');
  v2.spec.auth = { scheme: 'planasonix', tolerance: '5m', signedDeliveryIdOnly: true };
  await ctx.client.create(RESOURCES.webhookTriggers, v2);
  // What the peers are configured to do with a GitHub push: a run with the pushed revision.
  const build = benchPipeline(NS, 'build');
  build.spec.params = [
    { name: 'revision', type: 'string', required: true },
    { name: 'repository', type: 'string', required: true },
  ];
  await ctx.client.create(RESOURCES.pipelines, build);
  const gh = benchTrigger(NS, 'hook-gh', 'build');
  gh.spec.auth = { scheme: 'github' };
  gh.spec.params = [
    { name: 'revision', from: 'body', path: '/after', required: true },
    { name: 'repository', from: 'body', path: '/repository/full_name', required: true },
  ];
  await ctx.client.create(RESOURCES.webhookTriggers, gh);
}

/** Triggers setupBenchNamespace creates. */
const BENCH_NAMESPACE_TRIGGERS = CONFIG.benchTriggers + 3;

async function readHook(client: KubeClient, name: string): Promise<Hook> {
  const trigger = await client.get<WebhookTrigger>(RESOURCES.webhookTriggers, NS, name);
  const secret = await client.get<V1Secret>(RESOURCES.secrets, NS, `${name}-webhook`);
  const data = (k: string) => Buffer.from(secret.data?.[k] ?? '', 'base64').toString('utf8');
  return { url: data('url'), secret: data('signing-secret'), name, uid: trigger.metadata.uid! };
}

/** The Node.js flags the Deployment runs the operator with (its NODE_OPTIONS), so RSS is measured as deployed. */
function deployedNodeOptions(): string[] {
  const docs = parseAllDocuments(readFileSync(path.join(repoRoot, 'deploy/receiver-deployment.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, unknown> | null);
  for (const doc of docs) {
    const containers = ((doc?.spec as { template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } } })?.template?.spec?.containers) ?? [];
    for (const c of containers) {
      const value = c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
      if (value) return value.split(/\s+/).filter(Boolean);
    }
  }
  return [];
}

async function main(): Promise<void> {
  const machine = machineInfo();
  // BENCH_OPERATOR_NODE_OPTIONS replaces the Deployment's flags, to try others.
  const nodeOptions = process.env.BENCH_OPERATOR_NODE_OPTIONS !== undefined ? process.env.BENCH_OPERATOR_NODE_OPTIONS.split(/\s+/).filter(Boolean) : deployedNodeOptions();
  log(`machine: ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, load average ${machine.loadAverageAtStart}`);
  const workDir = mkdtempSync(path.join(tmpdir(), 'planasonix-bench-'));
  const profileDir = PROFILE ? path.join(repoRoot, 'bench', 'profiles') : undefined;
  if (profileDir) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }
  const partial: Pick<Context, 'details' | 'figures' | 'profiles' | 'samples' | 'workDir' | 'profileDir'> = {
    details: { config: { ...CONFIG, quick: QUICK, operatorNodeOptions: nodeOptions.join(' ') } },
    figures: [],
    profiles: {},
    samples: {},
    workDir,
    profileDir,
  };

  // The peers' Go builds (cached after the first) before anything is measured: they take both cores.
  let peerBuilds: PeerBuilds | undefined;
  if (PHASES.has('peers')) {
    log('building the peers from their Go modules (cached after the first build)');
    const chosen = new Set((process.env.BENCH_PEERS ?? 'tekton,flux').split(',').map((p) => p.trim()));
    const build = async (peer: 'tekton' | 'flux') => (chosen.has(peer) ? buildPeer(peer, log) : { error: 'not chosen (BENCH_PEERS)' });
    peerBuilds = { tekton: await build('tekton'), flux: await build('flux') };
  }

  // Figure 2 first, while nothing else of ours runs.
  if (PHASES.has('verify')) await phaseVerify(partial as Context);
  if (PHASES.has('filter')) await phaseFilter(partial as Context);

  log('starting the control plane');
  process.env.PLANASONIX_TEST_NODE ??= 'off';
  const plane = await startControlPlane();
  const cleanup: (() => Promise<void>)[] = [() => plane.stop()];
  interrupted = async () => {
    for (const step of cleanup) await step().catch(() => {});
  };
  let versions = { kubernetes: 'unknown', etcd: 'unknown' };
  try {
    await kubectl(plane, ['apply', '--server-side', '--force-conflicts', '-f', path.join(repoRoot, 'crds')]);
    await kubectl(plane, ['wait', '--for=condition=Established', '--timeout=60s', '-f', path.join(repoRoot, 'crds')]);
    const client = KubeClient.fromDefault({ kubeconfig: plane.kubeconfig, timeoutMs: 60_000 });
    const api = await createRawApi(plane.kubeconfig);
    cleanup.unshift(() => api.close());
    versions = await clusterVersions(client, path.join(repoRoot, 'tools/controlplane/go.mod'));
    const meters = controlPlaneProcesses();
    log(`control plane ${versions.kubernetes}, etcd ${versions.etcd}; processes ${JSON.stringify(meters)}`);
    const operatorKubeconfig = await serviceAccountKubeconfig(plane, workDir);
    const base = { ...partial, plane, client, api, nodeOptions, operatorKubeconfig };
    await setupBenchNamespace(base);
    const koa = await startBareKoa();
    cleanup.unshift(() => koa.stop());
    const koaVerify = await startBareKoa('verify');
    cleanup.unshift(() => koaVerify.stop());
    const koaObserve = await startBareKoa('observe', path.join(workDir, 'koa-observe.log'));
    cleanup.unshift(() => koaObserve.stop());

    let op = await startOperator({ ...base, koa, koaVerify, koaObserve } as Context, 'all', 'operator');
    cleanup.unshift(() => op.stop());
    const ready = await watchTriggersReady(client, NS, BENCH_NAMESPACE_TRIGGERS, 60_000);
    await ready.allReady;
    ready.stop();
    const ctx: Context = { ...base, koa, koaVerify, koaObserve, hook: await readHook(client, 'hook-0'), hookSw: await readHook(client, 'hook-sw'), hookV2: await readHook(client, 'hook-v2'), hookGh: await readHook(client, 'hook-gh') };
    const rssAt10: MemoryAt10 = { all: op.memory().rssMiB, receiver: undefined, allDetail: { memory: op.memory(), heap: await op.heap() } };

    if (PHASES.has('reject')) await phaseReject(ctx, op);

    let e2eBase: E2EResult | undefined;
    if (PHASES.has('accept') || PHASES.has('e2e') || PHASES.has('peers') || PHASES.has('longaccept')) {
      // No controller may act on the runs while the receiver alone and the bare client are measured.
      await stopOperator(ctx, op);
      const receiver = await startOperator(ctx, 'receiver', 'receiver');
      cleanup.unshift(() => receiver.stop());
      rssAt10.receiver = receiver.memory().rssMiB;
      rssAt10.receiverDetail = { memory: receiver.memory(), heap: await receiver.heap() };
      if (PHASES.has('accept')) await phaseAccept(ctx, receiver, meters);
      if (PHASES.has('e2e')) e2eBase = await phaseE2EBaseline(ctx);
      await stopOperator(ctx, receiver);
      // A fresh replica of its own, as the peers are fresh, and no other of ours watching the runs.
      if (PHASES.has('peers')) await phasePeers(ctx, peerBuilds!, meters, cleanup);
      // Its own receivers, one per scheme: no other process of ours may watch the runs meanwhile.
      if (PHASES.has('longaccept')) await phaseLongAccept(ctx, meters);
      op = await startOperator(ctx, 'all', 'operator-2');
      if (PHASES.has('accept')) await phaseAcceptFull(ctx, op, meters);
    }
    if (PHASES.has('e2e')) await phaseE2E(ctx, op, e2eBase);
    if (PHASES.has('scale')) await phaseScale(ctx, op, meters, rssAt10);
    if (PHASES.has('scale') && PHASES.has('scalexl')) op = await phaseScaleXl(ctx, op, meters, rssAt10);
    await stopOperator(ctx, op);
  } finally {
    for (const step of cleanup) await step().catch(() => {});
  }

  const results: Results = {
    generatedAt: new Date().toISOString(),
    durationSeconds: round((performance.now() - t0) / 1000, 0),
    machine: { ...machine, loadAverageAtEnd: loadAverage() },
    versions: { node: process.version, ...versions },
    figures: partial.figures,
    details: partial.details,
    profiles: partial.profiles,
    latency: Object.fromEntries(Object.entries(partial.samples).filter(([, s]) => s.length > 0).map(([k, s]) => [k, { summary: summarize(s), cdf: cdfPoints(s) }])),
  };
  // The docs show a complete run: a run of some phases only leaves them alone unless asked, and
  // writes its figures beside the complete run's (which `node bench/render.ts` renders again).
  const writeDocs = process.env.BENCH_PHASES === undefined || process.env.BENCH_WRITE_DOCS === '1';
  const resultsFile = writeDocs ? 'bench/results.json' : 'bench/results-partial.json';
  writeFileSync(path.join(repoRoot, resultsFile), `${JSON.stringify(results, null, 2)}\n`);
  if (writeDocs) {
    writeFileSync(path.join(repoRoot, 'docs/benchmarks-latency.svg'), renderLatencySvg(results));
    writeFileSync(path.join(repoRoot, 'docs/benchmarks.md'), renderMarkdown(results));
  }
  if (process.env.BENCH_KEEP_LOGS === '1') process.stdout.write(`operator logs kept in ${workDir}\n`);
  else rmSync(workDir, { recursive: true, force: true });

  process.stdout.write('\n');
  printFigures(results.figures);
  process.stdout.write(`\nwrote ${resultsFile}${writeDocs ? ', docs/benchmarks.md and docs/benchmarks-latency.svg' : ''} in ${results.durationSeconds} s\n`);
  const missed = results.figures.filter((f) => f.met === false);
  if (missed.length) process.stdout.write(`targets missed: ${missed.map((f) => f.id).join(', ')} (see docs/benchmarks.md)\n`);
}

function printFigures(figures: Figure[]): void {
  const rows = byId(figures).map((f) => [
    f.id,
    f.name,
    `${f.value} ${f.unit}`,
    `${f.baseline} ${f.unit}`,
    Number.isFinite(f.ratio) ? f.ratio.toFixed(3) : '—',
    f.target,
    f.met === null ? '' : f.met ? 'met' : 'MISSED',
  ]);
  const header = ['#', 'figure', 'ours', 'baseline', 'ratio', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stdout.write(`${line(header)}\n${line(widths.map((w) => '-'.repeat(w)))}\n${rows.map(line).join('\n')}\n`);
}

// Ctrl-C or a timeout's SIGTERM stops what the bench started (the control plane, the operator, the
// load) before exiting, instead of leaving them running.
let interrupted: (() => Promise<void>) | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the processes the bench started`);
    void (interrupted?.() ?? Promise.resolve()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
