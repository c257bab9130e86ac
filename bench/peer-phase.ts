// The peers comparison: our receiver, Tekton Triggers and Flux's Receiver, each sent the same
// GitHub-signed 1 KiB deliveries from 16 connections, in rounds that alternate the order of the
// receivers (so that drift of a shared machine hits each alike). Accepted deliveries are counted
// where they end up, in the API server, not by the answers: a receiver that answers before it works
// (Tekton's sink) is measured by what it stored.
import type { LoadResult, LoadSpec } from './load-worker.ts';
import type { PeerFailure, ReceiverTarget } from './peers.ts';
import { processCpuSeconds, processMemory, runJsonChild } from './processes.ts';
import { badlySignedGithubPush } from './github-delivery.ts';
import { round } from './stats.ts';
import type { AcceptRound, PeerComparison, PeerPhaseConfig, ReceiverResult, RejectRound } from './peer-summary.ts';

type Log = (msg: string) => void;

function load(spec: Omit<LoadSpec, 'maxRequests'> & { maxRequests?: number }): Promise<LoadResult> {
  const full: LoadSpec = { maxRequests: 2_000_000, ...spec };
  return runJsonChild<LoadResult>('load-worker.ts', full, (full.durationSeconds + (full.warmupSeconds ?? 0) + 60) * 1000);
}

const count2xx = (statuses: Record<string, number>) => Object.entries(statuses).reduce((s, [code, n]) => s + (code.startsWith('2') ? n : 0), 0);

function sumRss(pids: number[]): number {
  return pids.reduce((s, pid) => s + processMemory(pid).rssMiB, 0);
}

function sumCpu(pids: number[]): number {
  return pids.reduce((s, pid) => s + processCpuSeconds(pid), 0);
}

/** The largest summed RSS of the processes, sampled every 200 ms until stopped. */
function sampleRss(pids: () => number[]): { stop(): number } {
  let peak = sumRss(pids());
  const timer = setInterval(() => {
    const now = sumRss(pids());
    if (Number.isFinite(now)) peak = Math.max(peak, now);
  }, 200);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

/** Waits until the count stops moving for 2 s, or maxSeconds; returns the last count. */
async function drain(target: ReceiverTarget, maxSeconds: number): Promise<number> {
  const deadline = performance.now() + maxSeconds * 1000;
  let last = await target.persisted();
  let stableSince = performance.now();
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await target.persisted();
    if (now !== last) {
      last = now;
      stableSince = performance.now();
    } else if (performance.now() - stableSince >= 2_000) break;
  }
  return last;
}

async function rejectRun(target: ReceiverTarget, cfg: PeerPhaseConfig): Promise<RejectRound> {
  const request = badlySignedGithubPush();
  const res = await load({
    url: target.url,
    connections: cfg.connections,
    durationSeconds: cfg.rejectSeconds,
    warmupSeconds: 1,
    mode: 'fixed',
    body: request.body,
    headers: request.headers,
    expectStatus: 'any',
  });
  return { answersPerSecond: res.requests / res.durationSeconds, statuses: res.statuses, p50: res.latencyMs.p50, p99: res.latencyMs.p99 };
}

/**
 * CPU of the control plane and of the receivers not under load, over the timed part: what the
 * stored rate had to share the machine with, so that a slow round can be told from a slow receiver.
 */
function otherCpu(meters: Record<string, number>, idle: Pick<ReceiverTarget, 'pids'>[]): () => Record<string, number> {
  const pids: Record<string, number[]> = { ...Object.fromEntries(Object.entries(meters).map(([name, pid]) => [name, [pid]])), 'other receivers (idle)': idle.flatMap((t) => t.pids()) };
  const start = Object.fromEntries(Object.entries(pids).map(([name, list]) => [name, sumCpu(list)]));
  return () => Object.fromEntries(Object.entries(pids).map(([name, list]) => [name, round(sumCpu(list) - start[name]!, 2)]));
}

async function acceptRun(target: ReceiverTarget, cfg: PeerPhaseConfig, secret: string, others: () => () => Record<string, number>): Promise<AcceptRound> {
  const spec = {
    url: target.url,
    connections: cfg.connections,
    mode: 'signed' as const,
    scheme: 'github' as const,
    secret,
    expectStatus: target.acceptStatus,
  };
  const before = await target.persisted();
  // A warm-up of its own, so that the objects counted below are the timed part's.
  const warm = await load({ ...spec, durationSeconds: 1, maxRequests: Math.ceil(cfg.acceptMaxRequests / 4) });
  const start = await target.persisted();
  const cpuStart = sumCpu(target.pids());
  const otherCpuRead = others();
  const rss = sampleRss(() => target.pids());
  const res = await load({ ...spec, durationSeconds: cfg.acceptSeconds, maxRequests: cfg.acceptMaxRequests });
  const end = await target.persisted();
  const cpu = sumCpu(target.pids()) - cpuStart;
  const otherCpuSeconds = otherCpuRead();
  const peakRssMiB = rss.stop();
  const final = await drain(target, cfg.drainSeconds);
  const answered2xx = count2xx(warm.statuses) + count2xx(res.statuses);
  const stored = end - start;
  return {
    seconds: res.durationSeconds,
    answersPerSecond: count2xx(res.statuses) / res.durationSeconds,
    persistedPerSecond: stored / res.durationSeconds,
    statuses: res.statuses,
    p50: res.latencyMs.p50,
    p99: res.latencyMs.p99,
    answered2xx,
    answeredNeverStored: Math.max(0, answered2xx - (final - before)),
    cpuMsPerObject: stored > 0 ? (cpu * 1000) / stored : Number.NaN,
    cpuSeconds: round(cpu, 2),
    otherCpuSeconds,
    peakRssMiB,
  };
}

/**
 * Runs every round: reject runs of all receivers, then accept runs of all receivers, the order
 * reversed every other round. The first target is ours. `idleRss` gives each one's RSS measured
 * after it started and before any load.
 */
export async function comparePeers(
  targets: ReceiverTarget[],
  failures: PeerFailure[],
  idleRss: Record<string, number>,
  cfg: PeerPhaseConfig,
  secret: string,
  log: Log,
  /** Control-plane processes by name, whose CPU each accept run records. */
  meters: Record<string, number> = {},
): Promise<PeerComparison> {
  const results = new Map<string, ReceiverResult>(targets.map((t) => [t.id, { id: t.id, label: t.label, idleRssMiB: round(idleRss[t.id] ?? Number.NaN, 1), reject: [], accept: [] }]));
  // The two Tekton variants differ only in their client's request limit: one reject run serves both.
  const rejectTargets = targets.filter((t) => t.id !== 'tekton-qps');
  const broken = new Set<string>();
  const guarded = async (t: ReceiverTarget, what: string, run: () => Promise<void>) => {
    if (broken.has(t.id)) return;
    try {
      await run();
    } catch (e) {
      // A peer failing mid-run is reported in its row; the others go on.
      broken.add(t.id);
      results.get(t.id)!.failure = `failed during ${what}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
      log(`  ${t.label}: ${results.get(t.id)!.failure}`);
    }
  };
  for (let r = 0; r < cfg.rounds; r++) {
    const order = (list: ReceiverTarget[]) => (r % 2 === 0 ? list : [...list].reverse());
    for (const t of order(rejectTargets)) {
      await guarded(t, 'the reject path', async () => {
        const res = await rejectRun(t, cfg);
        results.get(t.id)!.reject.push(res);
        log(`  peers round ${r + 1} reject ${t.id}: ${res.answersPerSecond.toFixed(0)} answers/s ${JSON.stringify(res.statuses)}, p99 ${res.p99.toFixed(1)} ms`);
      });
    }
    for (const t of order(targets)) {
      await guarded(t, 'the accept path', async () => {
        // Tekton's two sinks share one interceptors server: the idle receivers' processes exclude this one's.
        const idle = () => targets.filter((o) => o !== t).map((o) => ({ pids: () => o.pids().filter((pid) => !t.pids().includes(pid)) }));
        const res = await acceptRun(t, cfg, secret, () => otherCpu(meters, idle()));
        results.get(t.id)!.accept.push(res);
        log(
          `  peers round ${r + 1} accept ${t.id}: ${res.persistedPerSecond.toFixed(0)} objects/s, ${res.answersPerSecond.toFixed(0)} answers/s, p50 ${res.p50.toFixed(1)} / p99 ${res.p99.toFixed(1)} ms, ` +
            `${res.answeredNeverStored} of ${res.answered2xx} 2xx never stored, RSS peak ${res.peakRssMiB.toFixed(0)} MiB, ` +
            `CPU s: receiver ${res.cpuSeconds}, others ${JSON.stringify(res.otherCpuSeconds)}`,
        );
        await t.reset();
        await t.clean();
      });
    }
  }
  const rejectOfTekton = results.get('tekton')?.reject;
  const qps = results.get('tekton-qps');
  if (qps && rejectOfTekton) qps.reject = rejectOfTekton;
  return {
    config: cfg,
    receivers: [...results.values(), ...failures.map((f) => ({ id: f.id, label: f.label, failure: f.reason, reject: [], accept: [] }))],
  };
}
