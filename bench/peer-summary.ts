// What the peers comparison (bench/peer-phase.ts) records, and its summary for the report: medians
// over rounds for ours and each peer, and the ratio ours / peer. Pure, so the report can be rendered
// again from bench/results.json and tested without a cluster.
import { median } from './stats.ts';

export interface PeerPhaseConfig {
  rounds: number;
  connections: number;
  rejectSeconds: number;
  acceptSeconds: number;
  /** How long to wait after the load for objects still being written, before counting the ones never written. */
  drainSeconds: number;
  /** Upper bound on requests per accept run (so a fast receiver cannot fill the API server without end). */
  acceptMaxRequests: number;
}

export interface RejectRound {
  answersPerSecond: number;
  statuses: Record<string, number>;
  p50: number;
  p99: number;
}

export interface AcceptRound {
  seconds: number;
  /** 2xx answers in the timed part, per second. */
  answersPerSecond: number;
  /** Objects that appeared in the API server during the timed part, per second. */
  persistedPerSecond: number;
  statuses: Record<string, number>;
  p50: number;
  p99: number;
  /** 2xx answers (warm-up included) with no object drainSeconds after the load ended. */
  answeredNeverStored: number;
  answered2xx: number;
  /** Receiving processes' CPU per object stored during the timed part, ms. */
  cpuMsPerObject: number;
  /** The receiving processes' CPU seconds over the timed part. */
  cpuSeconds?: number;
  /** CPU seconds of the control plane's processes and of the idle receivers during the timed part. */
  otherCpuSeconds?: Record<string, number>;
  peakRssMiB: number;
}

export interface ReceiverResult {
  id: string;
  label: string;
  /** Set when the receiver could not be built or run: the row says why. */
  failure?: string;
  idleRssMiB?: number;
  reject: RejectRound[];
  accept: AcceptRound[];
}

export interface PeerComparison {
  config: PeerPhaseConfig;
  receivers: ReceiverResult[];
}


export interface PeerRow {
  name: string;
  /** Which way is better, for the reader of the ratio. */
  better: 'higher' | 'lower';
  unit: string;
  ours: number;
  peers: { id: string; value: number | undefined; ratio: number | undefined; note?: string }[];
}

/** kube-apiserver and etcd CPU over the timed part, per object stored in it; NaN when not recorded. */
export function controlPlaneMsPerObject(r: AcceptRound): number {
  const cpu = r.otherCpuSeconds;
  const stored = r.persistedPerSecond * r.seconds;
  if (!cpu || stored <= 0 || cpu['kube-apiserver'] === undefined) return Number.NaN;
  return ((cpu['kube-apiserver'] + (cpu['etcd (in controlplane up)'] ?? 0)) * 1000) / stored;
}

/** The median of the rounds' finite values (a round may lack one, e.g. no object stored). */
function medianOf<T>(rounds: T[], pick: (r: T) => number): number | undefined {
  const values = rounds.map(pick).filter(Number.isFinite);
  return values.length ? median(values) : undefined;
}

/** The statuses a receiver answered the reject path with, e.g. "401" or "202". */
export function rejectStatuses(r: ReceiverResult): string {
  const all = new Map<string, number>();
  for (const round of r.reject) for (const [code, n] of Object.entries(round.statuses)) all.set(code, (all.get(code) ?? 0) + n);
  return [...all.keys()].sort().join('/');
}

/** Medians over rounds, for ours and each peer, and the ratio ours / peer. A failed peer has no values. */
export function summarizeComparison(c: PeerComparison): { ours: ReceiverResult; peers: ReceiverResult[]; rows: PeerRow[] } {
  const [ours, ...peers] = c.receivers;
  if (!ours) throw new Error('no receivers measured');
  const figures: { name: string; better: 'higher' | 'lower'; unit: string; value: (r: ReceiverResult) => number | undefined; note?: (r: ReceiverResult) => string | undefined }[] = [
    { name: 'Reject path (wrong signature): answers/s', better: 'higher', unit: 'req/s', value: (r) => medianOf(r.reject, (x) => x.answersPerSecond), note: (r) => (r.reject.length ? `answered ${rejectStatuses(r)}` : undefined) },
    { name: 'Accept path: objects stored in the API server per second', better: 'higher', unit: '/s', value: (r) => medianOf(r.accept, (x) => x.persistedPerSecond) },
    { name: 'Accept path: 2xx answers per second', better: 'higher', unit: '/s', value: (r) => medianOf(r.accept, (x) => x.answersPerSecond) },
    { name: 'Accept path: p50 latency', better: 'lower', unit: 'ms', value: (r) => medianOf(r.accept, (x) => x.p50) },
    { name: 'Accept path: p99 latency', better: 'lower', unit: 'ms', value: (r) => medianOf(r.accept, (x) => x.p99) },
    { name: 'Idle RSS of the receiving process(es)', better: 'lower', unit: 'MiB', value: (r) => (r.failure && !r.accept.length ? undefined : r.idleRssMiB) },
    { name: 'RSS under load (peak)', better: 'lower', unit: 'MiB', value: (r) => medianOf(r.accept, (x) => x.peakRssMiB) },
    { name: 'Receiver CPU per stored object', better: 'lower', unit: 'ms', value: (r) => medianOf(r.accept, (x) => x.cpuMsPerObject) },
    {
      // CPU time, unlike rates, hardly depends on what else the machine runs.
      name: 'API server and etcd CPU per stored object',
      better: 'lower',
      unit: 'ms',
      value: (r) => medianOf(r.accept, (x) => controlPlaneMsPerObject(x)),
    },
    {
      name: '2xx answers that never became objects (all rounds)',
      better: 'lower',
      unit: '',
      value: (r) => (r.accept.length ? r.accept.reduce((s, x) => s + x.answeredNeverStored, 0) : undefined),
      note: (r) => (r.accept.length ? `of ${r.accept.reduce((s, x) => s + x.answered2xx, 0).toLocaleString('en-US')}` : undefined),
    },
  ];
  const rows: PeerRow[] = figures.map((f) => {
    const mine = f.value(ours) ?? Number.NaN;
    return {
      name: f.name,
      better: f.better,
      unit: f.unit,
      ours: mine,
      peers: peers.map((p) => {
        const value = f.value(p);
        const ratio = value === undefined || !Number.isFinite(value) || value === 0 ? undefined : mine / value;
        const note = f.note?.(p);
        return { id: p.id, value, ratio, ...(note ? { note } : {}) };
      }),
    };
  });
  return { ours, peers, rows };
}

const num = (v: number | undefined): string => {
  if (v === undefined || !Number.isFinite(v)) return '—';
  return v.toLocaleString('en-US', { maximumFractionDigits: Math.abs(v) >= 100 ? 0 : 1 });
};

/**
 * The comparison as a table: a header and one row per figure, with ours, then each peer's value and
 * the ratio ours / peer. A peer that could not be built or run has "—" and its reason below the table.
 */
export function peerTable(c: PeerComparison): { header: string[]; rows: string[][]; failures: string[] } {
  const { ours, peers, rows } = summarizeComparison(c);
  const oursReject = rejectStatuses(ours);
  const header = ['Figure', 'better', ours.label, ...peers.flatMap((p) => [p.label, `ours / ${p.id}`])];
  const body = rows.map((r, i) => [
    `${r.name}${r.unit ? ` (${r.unit})` : ''}`,
    r.better,
    `${num(r.ours)}${i === 0 && oursReject ? ` (${oursReject})` : ''}`,
    ...r.peers.flatMap((p) => [
      p.value === undefined ? '—' : `${num(p.value)}${p.note ? ` (${p.note})` : ''}`,
      p.ratio === undefined ? '—' : p.ratio.toFixed(2),
    ]),
  ]);
  const failures = peers.filter((p) => p.failure).map((p) => `${p.label}: ${p.failure}`);
  return { header, rows: body, failures };
}
