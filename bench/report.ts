// Turns bench/results.json into docs/benchmarks.md and docs/benchmarks-latency.svg. The SVG is
// written by hand (no charting dependency): latency CDFs on a logarithmic axis, one panel per path.
import { median, type LatencySummary } from './stats.ts';
import type { ProfileSummary } from './profile-summary.ts';
import type { MachineInfo } from './machine.ts';
import type { MemoryBreakdown } from './memory-breakdown.ts';
import { peerTable, type PeerComparison } from './peer-summary.ts';

export interface Figure {
  id: string;
  name: string;
  value: number;
  unit: string;
  baselineName: string;
  baseline: number;
  /** value / baseline */
  ratio: number;
  target: string;
  /** null when the figure has no target (shown for context). */
  met: boolean | null;
  note?: string | undefined;
}

export interface Results {
  generatedAt: string;
  durationSeconds: number;
  machine: MachineInfo & { loadAverageAtEnd: number };
  versions: { node: string; kubernetes: string; etcd: string };
  figures: Figure[];
  details: Record<string, unknown>;
  profiles: Record<string, ProfileSummary>;
  latency: Record<string, { summary: LatencySummary; cdf: [number, number][] }>;
}

/** Figures in the order of their ids (1, 1b, 2a, …), whatever order the phases ran in. */
export function byId(figures: readonly Figure[]): Figure[] {
  const key = (id: string) => [Number.parseInt(id, 10), id.replace(/^\d+/, '')] as const;
  return [...figures].sort((a, b) => {
    const [na, sa] = key(a.id);
    const [nb, sb] = key(b.id);
    return na - nb || sa.localeCompare(sb);
  });
}

const fmt = (v: number, unit = ''): string => (Number.isFinite(v) ? `${v.toLocaleString('en-US', { maximumFractionDigits: 3 })}${unit ? ` ${unit}` : ''}` : '—');

// ------------------------------------------------------------------ SVG

const PANELS: { title: string; series: string[] }[] = [
  { title: 'Reject path (HTTP 401)', series: ['reject: receiver', 'reject: bare Koa'] },
  { title: 'Accept path (HTTP 202 / 201)', series: ['accept: receiver', 'accept: bare client'] },
  { title: 'End to end: sent → Job ADDED', series: ['e2e: sent → Job, operator', 'e2e: sent → Job, bare client'] },
];
const COLORS = ['#d9480f', '#1c7ed6'];

function escapeXml(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

export function renderLatencySvg(results: Results): string {
  const panelW = 360;
  const panelH = 260;
  const margin = { left: 48, right: 14, top: 34, bottom: 62 };
  const panels = PANELS.filter((p) => p.series.some((s) => results.latency[s]));
  const width = Math.max(1, panels.length) * panelW;
  const height = panelH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  panels.forEach((panel, i) => {
    const x0 = i * panelW + margin.left;
    const y0 = margin.top;
    const w = panelW - margin.left - margin.right;
    const h = panelH - margin.top - margin.bottom;
    const all = panel.series.flatMap((s) => results.latency[s]?.cdf ?? []).map(([x]) => x);
    const lo = Math.floor(Math.log10(Math.max(1e-3, Math.min(...all))));
    const hi = Math.ceil(Math.log10(Math.max(...all)));
    const span = Math.max(1, hi - lo);
    const sx = (v: number) => x0 + ((Math.log10(v) - lo) / span) * w;
    const sy = (f: number) => y0 + h - f * h;
    out.push(`<text x="${x0 + w / 2}" y="18" text-anchor="middle" font-weight="bold" font-size="12">${escapeXml(panel.title)}</text>`);
    // Grid: decades on x, quarters on y, and the p50 / p99 lines.
    for (let d = lo; d <= hi; d++) {
      const x = sx(10 ** d);
      out.push(`<line x1="${x.toFixed(1)}" y1="${y0}" x2="${x.toFixed(1)}" y2="${y0 + h}" stroke="#e9ecef"/>`);
      out.push(`<text x="${x.toFixed(1)}" y="${y0 + h + 14}" text-anchor="middle" fill="#495057">${10 ** d >= 1 ? 10 ** d : (10 ** d).toFixed(Math.abs(d))}</text>`);
    }
    for (const f of [0, 0.25, 0.5, 0.75, 1]) {
      out.push(`<line x1="${x0}" y1="${sy(f).toFixed(1)}" x2="${x0 + w}" y2="${sy(f).toFixed(1)}" stroke="#e9ecef"/>`);
      out.push(`<text x="${x0 - 6}" y="${(sy(f) + 4).toFixed(1)}" text-anchor="end" fill="#495057">${f * 100}%</text>`);
    }
    out.push(`<line x1="${x0}" y1="${sy(0.99).toFixed(1)}" x2="${x0 + w}" y2="${sy(0.99).toFixed(1)}" stroke="#adb5bd" stroke-dasharray="3 3"/>`);
    out.push(`<text x="${x0 + w - 2}" y="${(sy(0.99) + 10).toFixed(1)}" text-anchor="end" fill="#868e96" font-size="9">p99</text>`);
    out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#adb5bd"/>`);
    out.push(`<text x="${x0 + w / 2}" y="${y0 + h + 28}" text-anchor="middle" fill="#495057">latency, ms (log scale)</text>`);
    panel.series.forEach((name, k) => {
      const data = results.latency[name];
      if (!data) return;
      const points = data.cdf.map(([x, f]) => `${sx(x).toFixed(1)},${sy(f).toFixed(1)}`).join(' ');
      out.push(`<polyline fill="none" stroke="${COLORS[k]}" stroke-width="1.8" points="${points}"/>`);
      const s = data.summary;
      const legend = `${(name.split(': ')[1] ?? name).replace('sent → Job, ', '')}: p50 ${fmt(Number(s.p50.toFixed(2)))} · p99 ${fmt(Number(s.p99.toFixed(2)))} ms (n=${s.count})`;
      const ly = y0 + h + 42 + k * 12;
      out.push(`<rect x="${x0}" y="${ly - 8}" width="10" height="3" fill="${COLORS[k]}"/>`);
      out.push(`<text x="${x0 + 14}" y="${ly - 4}" fill="#212529" font-size="10">${escapeXml(legend)}</text>`);
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

// ------------------------------------------------------------------ Markdown

const METHOD = `
- **1 — Reject path.** autocannon (its own process, 16 connections, loopback) posts the
  deploy/examples payload with a well-formed but wrong \`X-Planasonix-Signature\` to a Ready
  trigger's URL; every answer must be 401 \`invalid_signature\`. The baseline is a bare Koa app, in its
  own process, answering the same requests with the same 401 JSON without looking at them; 1b
  compares with a Koa app that first reads the body and checks an HMAC-SHA256 over it, the least any
  verifying receiver does, and 1d with that app when it also writes the receiver's log line and
  records its metrics, through the operator's own \`observeRequest\` and logger (its lines go to a
  file, as the receiver's do here): the two things issue 16 keeps, on the least verifying app. The
  four alternate round by round (ABCD, DCBA, …), five rounds after a 1 s warm-up each; the medians
  are compared. 1c's note splits the CPU per request from \`/proc\` into the process's own and the
  kernel's (its socket reads and writes). The receiver runs as the whole operator (\`planasonix run\`, log level info, one log
  line per request), with the Node.js flags of \`deploy/receiver-deployment.yaml\` (its \`NODE_OPTIONS\`), as
  every operator process of the bench does.
- **2 — Verification.** In a process of its own, before anything else starts: each verifier is called
  as the receiver calls it (a Buffer body, Node's lower-case headers, one secret) on a JSON body of
  exactly 1 KiB or 64 KiB; every call must verify. The baseline is the \`standardwebhooks\` package's
  \`new Webhook(secret).verify(payload, headers)\` on the same standard-webhooks message, with
  \`jsonParse: false\` (the faster of its two modes; ours parses nothing while verifying). The
  planasonix verifier signs \`t.body\` instead of \`id.t.body\`, so it is compared with the same baseline.
  Median of 7 interleaved rounds. Our figure includes the SHA-256 replay key every verified request
  gets (a second pass over the body).
- **2e–2g — Filters (\`spec.filter\`).** In a process of its own, after figure 2: a typical CEL filter
  (\`headers["x-github-event"] == "push" && body.ref == "refs/heads/main" && body.commits.exists(c,
  c.modified.exists(f, f.startsWith("src/")))\`, 20 commits) on a push-like JSON body of 1 KiB and
  64 KiB, timed as the receiver pays it per delivery: JSON.parse, the one conversion into CEL values,
  the metered evaluation. Shown beside the planasonix verifier on the same body (the work every
  delivery already pays); no target. 2g: the longest one evaluation runs under the default budget
  (20,000 units or 100 ms): the worse median of a loop whose steps spend the units and of
  \`lowerAscii\` on the longest string the units allow (300 KiB); the longest a filter can hold the
  event loop. Median of 7 rounds.
- **3 — Accept path.** Each request is a distinct, freshly signed planasonix delivery (own body, own
  \`X-Planasonix-Delivery\`), built in autocannon's \`setupRequest\`; 16 connections. Ours is a receiver
  replica (\`--components=receiver\`) so that no controller writes to the API server while it is
  measured; the baseline is a bare client (undici, one keep-alive pool, its own process) creating the
  very PipelineRuns the receiver would create, 16 at a time. The namespace's PipelineRuns are deleted
  (deletecollection) and waited for between rounds. 3e repeats the load on a standard-webhooks
  trigger, whose delivery ID is signed, so the receiver claims no replay key; planasonix deliveries
  first create a DeliveryRecord for theirs (one more create per delivery), and 3f sets the two side
  by side: the accept path's cost of replay protection. 3g repeats it on a planasonix trigger with
  \`signedDeliveryIdOnly\`, whose v2 signatures (as \`planasonix send\` and the load here sign) cover the
  delivery ID: no record either, alternated with 3a's rounds (3e is one round after them). 3d repeats it against the full operator, whose run controller creates a Job, an Event and a
  status write per run meanwhile.
- **4 — Scale.** Triggers (the deploy/examples trigger) are created through a KubeClient, 32 at a time,
  into a fresh namespace; a list+watch started before the first create records when all are Ready. The
  baseline is the time the creates alone took. RSS is VmRSS from \`/proc/<pid>/status\` of the operator
  process (controllers and receiver) and of a fresh receiver-only replica started afterwards.
  4e sends figure 1's load to two fresh receiver replicas, as the receiver Deployment runs them
  (\`--components=receiver\`, its Node.js flags), alternated round by round: one serving every trigger
  of the cluster, one started with \`--namespaces=bench\` and so serving the bench's 10. The ratio is
  what the number of triggers costs a rejected request, measured in the same minutes of the machine,
  over two pairs of fresh replicas, three rounds each (a replica holding many triggers runs either
  as fast as its twin or 15–20% slower, for its whole life: Findings, 4g–4j); the note gives the CPU per request of each, and the part of it V8's garbage collection took (from
  the process's \`nodejs_gc_duration_seconds\`). The routing table is a \`Map\` look-up; 4f times the
  look-up alone, in a process of its own, on tables of 10 and 10,000 compiled routes, with a fresh
  path string per look-up as a request brings one. 4g–4j are issue 16's 30,000-trigger point: the
  namespace of 4b is deleted, a fresh operator creates 30,000 triggers the same way, and 4j is 4e with
  them. Their heap outgrows the Deployment's 160 MiB old-space cap (sized for 10,000: 4c, 4d), so
  these processes run with a 512 MiB cap, as a deployment of that size would set it together with its
  memory limit.
- **5 — End to end.** 200 deliveries, 4 at a time, from the benchmark process to the full operator; a
  watch on Jobs records the local time each Job's ADDED event arrives (creationTimestamp only has
  one-second resolution). The baseline writes the same PipelineRun and then the Job \`buildJob()\` makes
  of it with a bare client, back to back, timed the same way: the floor for this outcome. 5e counts
  the operator's writes to the API server meanwhile, from its own \`planasonix_kube_requests_total\`
  (every request but get, list and watch, and but the leader's lease renewals), until nothing more was
  written for 2 s, over the deliveries it accepted: the receiver's and the controllers' writes for
  each delivery until its run shows its Job (the bench's control plane runs no node, so no run
  finishes and the writes of a finished run are not in it), against the bare client's two. 5f counts
  the same for as many deliveries to the \`signedDeliveryIdOnly\` trigger, whose receiver writes no
  DeliveryRecord.
`;

function table(rows: string[][]): string {
  return rows.map((r, i) => `| ${r.join(' | ')} |${i === 0 ? `\n|${r.map(() => ' --- ').join('|')}|` : ''}`).join('\n');
}

function profileSection(profiles: Record<string, ProfileSummary>): string {
  const names = Object.keys(profiles);
  if (names.length === 0) return '';
  const parts = ['## CPU profiles of the operator (BENCH_CPU_PROFILE=1)', ''];
  for (const name of names) {
    const p = profiles[name]!;
    parts.push(`### ${name}: ${p.busyMs.toLocaleString('en-US')} ms busy of ${p.totalMs.toLocaleString('en-US')} ms sampled`, '');
    parts.push(table([['self ms', '% busy', 'module'], ...p.byModule.slice(0, 10).map((m) => [String(m.selfMs), `${m.percentOfBusy}`, `\`${m.module}\``])]), '');
    parts.push(table([['self ms', '% busy', 'function', 'where'], ...p.topFunctions.slice(0, 12).map((f) => [String(f.selfMs), `${f.percentOfBusy}`, `\`${f.function}\``, `\`${f.location}\``])]), '');
  }
  return parts.join('\n');
}

const PEERS_METHOD = `
Ours is a receiver replica (\`--components=receiver\`) serving a \`github\` trigger; Tekton Triggers is its
EventListener sink with the core GitHub interceptor and a TriggerTemplate creating one Tekton
PipelineRun per push; Flux is its notification-controller with a \`Receiver\` of type \`github\` that
annotates one GitRepository per push (\`bench/peers/\`). All three are local processes against the same
control plane, built from their Go modules (\`tools/peers/build.sh\`), sharing one signing secret, and
get the same load: GitHub push deliveries of exactly 1 KiB, each distinct and signed
(\`X-Hub-Signature-256\`), from 16 connections. Tekton runs twice: with its defaults (client-go's 5
requests/s to the API server) and with \`KUBE_API_QPS\`/\`KUBE_API_BURST\` 1000. Every round runs each
receiver in turn, the order reversed every other round; figures are medians over the rounds. The
reject path sends a well-formed but wrong signature and counts every answer, whatever its status
(noted in the row). The accept path counts objects where they end up, in the API server (Tekton
PipelineRuns or our PipelineRuns by a count; Flux's annotation writes on a watch), during the timed
part; "never became objects" is the 2xx answers of the run (its 1 s warm-up included) without an
object once nothing more was written for 2 s, at most 10 s after the load, after which Tekton's
sink, whose backlog lives in memory, is restarted. Idle RSS is each process's after start, before any
load (for Tekton the sink and the interceptors server together); under load, the peak sampled every
200 ms. CPU per object is the receiving processes' CPU during the timed part over the objects stored
in it, and likewise for the API server and etcd: CPU time hardly depends on what else the machine
runs, where rates do (each accept run's CPU of the control plane and of the idle receivers is in
bench/results.json, details.peers).
`;

/** One chunk of the long accept run (figure 3a's long form), as bench/run.ts records it. */
export interface LongAcceptChunk {
  /** Runs in the namespace after the chunk, all schemes. */
  stored: number;
  /** Runs this chunk's load created (its 202s, or the bare client's 201s). */
  runs: number;
  runsPerSecond: number;
  p50: number;
  p99: number;
  /** The receiver's, after the chunk (it runs during the bare client's chunks too, idle but watching). */
  rssMiB: number;
  heapUsedMiB: number;
  /** The receiver's GC time in the chunk, by kind, s. */
  gcSeconds: Record<string, number>;
  cpuSeconds: Record<string, number>;
}


/** BENCH_PHASES=longaccept: the accept path chunk by chunk while runs pile up, per scheme. */
export function longAcceptSection(details: Record<string, unknown>): string {
  const long = details.longAccept as { runs: number; chunkSeconds: number; chunks: Record<string, LongAcceptChunk[]> } | undefined;
  if (!long) return '';
  const cpuPerRun = (c: LongAcceptChunk) => (c.runs > 0 && c.cpuSeconds.receiver !== undefined ? (c.cpuSeconds.receiver * 1000) / c.runs : Number.NaN);
  const bareRate = median((long.chunks.bare ?? []).map((c) => c.runsPerSecond));
  const summary = [['load', 'median runs/s, first half', 'median runs/s, second half', 'median p99 ms', 'ratio to the bare client (median runs/s)', 'receiver CPU ms per run (median)']];
  const rows = [['load', 'runs stored after', 'runs/s', 'p50 ms', 'p99 ms', 'receiver CPU ms per run', 'receiver RSS MiB', 'V8 heap MiB', 'GC ms (minor / major)']];
  for (const [scheme, chunks] of Object.entries(long.chunks)) {
    const half = Math.ceil(chunks.length / 2);
    summary.push([
      scheme,
      fmt(median(chunks.slice(0, half).map((c) => c.runsPerSecond))),
      fmt(median(chunks.slice(half).map((c) => c.runsPerSecond))),
      fmt(median(chunks.map((c) => c.p99))),
      (median(chunks.map((c) => c.runsPerSecond)) / bareRate).toFixed(2),
      scheme === 'bare' ? '—' : fmt(Math.round(median(chunks.map(cpuPerRun)) * 100) / 100),
    ]);
  }
  const all = Object.entries(long.chunks).flatMap(([scheme, chunks]) => chunks.map((c) => ({ scheme, c }))).sort((a, b) => a.c.stored - b.c.stored);
  for (const { scheme, c } of all) {
    rows.push([
      scheme,
      fmt(c.stored),
      fmt(c.runsPerSecond),
      fmt(c.p50),
      fmt(c.p99),
      scheme === 'bare' ? '—' : fmt(Math.round(cpuPerRun(c) * 100) / 100),
      fmt(c.rssMiB),
      fmt(c.heapUsedMiB),
      `${Math.round((c.gcSeconds.minor ?? 0) * 1000)} / ${Math.round((c.gcSeconds.major ?? 0) * 1000)}`,
    ]);
  }
  return [
    `### The accept path over a long run (BENCH_PHASES=longaccept: ${long.runs.toLocaleString('en-US')} runs, ${long.chunkSeconds} s chunks)`,
    '',
    'One fresh receiver replica; chunks rotate between the bare client, a planasonix trigger and a github',
    'trigger, and nothing is deleted until the end, so whatever the receiver or the API server keeps per',
    'delivery (runs, replay records, caches) grows to the count shown for all three alike.',
    '',
    table(summary),
    '',
    table(rows),
    '',
  ].join('\n');
}

/** Figure 6: ours against the peers, from details.peers. */
export function peersSection(details: Record<string, unknown>): string {
  const c = details.peers as PeerComparison | undefined;
  if (!c?.receivers?.length) return '';
  const { header, rows, failures } = peerTable(c);
  return [
    '## 6 — Against the peers: Tekton Triggers and Flux',
    '',
    table([header, ...rows]),
    '',
    ...(failures.length ? ['Peers not measured:', '', ...failures.map((f) => `- ${f}`), ''] : []),
    PEERS_METHOD.trim(),
    '',
  ].join('\n');
}

function scaleSection(details: Record<string, unknown>): string {
  const scale = details.scale as
    | { small: { count: number; createSeconds: number; readySeconds: number; cpu: { wallSeconds: number; cpuSeconds: Record<string, number> } }; large: { count: number; createSeconds: number; readySeconds: number; cpu: { wallSeconds: number; cpuSeconds: Record<string, number> } } }
    | undefined;
  if (!scale) return '';
  const rows = [['triggers', 'creates done', 'all Ready', 'wall s', ...Object.keys(scale.large.cpu.cpuSeconds).map((k) => `CPU s: ${k}`)]];
  for (const s of [scale.small, scale.large]) {
    rows.push([s.count.toLocaleString('en-US'), `${s.createSeconds} s`, `${s.readySeconds} s`, String(s.cpu.wallSeconds), ...Object.values(s.cpu.cpuSeconds).map(String)]);
  }
  return ['### Where the CPU went while triggers became Ready', '', table(rows), ''].join('\n');
}

/** Where a receiver replica's memory goes, idle with the bench's triggers and with the scale's. */
function memorySection(details: Record<string, unknown>): string {
  const byTriggers = Object.entries((details.memoryBreakdown ?? {}) as Record<string, MemoryBreakdown | undefined>).filter((e): e is [string, MemoryBreakdown] => e[1] !== undefined);
  if (byTriggers.length === 0) return '';
  const heads = byTriggers.map(([n]) => `${Number(n).toLocaleString('en-US')} triggers, MiB`);
  const row = (label: string, value: (b: MemoryBreakdown) => number | undefined) => [label, ...byTriggers.map(([, b]) => String(value(b) ?? '—'))];
  // Spaces empty in every column are left out.
  const spaces = [...new Set(byTriggers.flatMap(([, b]) => Object.entries(b.heapSpacesMiB).filter(([, v]) => v > 0).map(([k]) => k)))];
  const types = [...new Set(byTriggers.flatMap(([, b]) => b.heapByType.slice(0, 8).map((g) => g.name)))];
  const groups = [...new Set(byTriggers.flatMap(([, b]) => b.heapTopGroups.map((g) => g.name)))];
  return [
    '### Where a receiver replica\'s memory goes',
    '',
    'A fresh receiver replica (the Deployment\'s Node.js flags, the compiled sources), idle, 2 s after it',
    'was ready. RSS as the kernel splits it; V8\'s heap spaces as the process reports them; then a heap',
    'snapshot, summed by V8\'s type for each object (self sizes, which add up to the heap) and by',
    'constructor for plain objects.',
    '',
    table([
      ['', ...heads],
      row('RSS', (b) => b.rssMiB),
      row('— anonymous (heap, native allocations)', (b) => b.rssAnonMiB),
      row('— mapped files (the node binary\'s code and data)', (b) => b.rssFileMiB),
      ...spaces.map((sp) => row(`V8 space ${sp}, used`, (b) => b.heapSpacesMiB[sp])),
      row('heap snapshot, all nodes', (b) => b.heapSnapshotMiB),
      ...types.map((t) => row(`— type ${t}`, (b) => b.heapByType.find((g) => g.name === t)?.MiB)),
      ...groups.map((g) => row(`— of which ${g}`, (b) => b.heapTopGroups.find((x) => x.name === g)?.MiB)),
    ]),
    '',
  ].join('\n');
}

function acceptSection(details: Record<string, unknown>): string {
  const accept = details.accept as
    | { cpu: { which: string; round: number; wallSeconds: number; cpuSeconds: Record<string, number>; clientCpuSeconds?: number; answered?: number }[] }
    | undefined;
  if (!accept?.cpu?.length) return '';
  const keys = Object.keys(accept.cpu[0]!.cpuSeconds);
  const rows = [['round', 'path', 'answered', 'wall s', ...keys.map((k) => `CPU s: ${k}`), 'CPU s: load generator or bare client']];
  for (const c of accept.cpu) {
    const path = c.which === 'ours' ? 'receiver' : c.which === 'bare' ? 'bare client' : c.which.replace('ours', 'receiver');
    rows.push([String(c.round), path, String(c.answered ?? ''), String(c.wallSeconds), ...keys.map((k) => String(c.cpuSeconds[k])), String(c.clientCpuSeconds ?? '')]);
  }
  return [
    '### Where the CPU went on the accept path',
    '',
    'Process CPU over each whole round (its 1 s warm-up included), except the last column, which the',
    'client measured over the timed part only. "answered" counts the timed part.',
    '',
    table(rows),
    '',
  ].join('\n');
}

export function renderMarkdown(r: Results, findings = FINDINGS): string {
  const m = r.machine;
  const figureRows = [
    ['#', 'Figure', 'Ours', 'Baseline (same run)', 'Ratio', 'Target', 'Result'],
    ...byId(r.figures).map((f) => [
      f.id,
      f.name + (f.note ? ` (${f.note})` : ''),
      fmt(f.value, f.unit),
      `${fmt(f.baseline, f.unit)} — ${f.baselineName}`,
      Number.isFinite(f.ratio) ? f.ratio.toFixed(3) : '—',
      f.target,
      f.met === null ? '—' : f.met ? 'met' : '**missed**',
    ]),
  ];
  return [
    '# Benchmarks',
    '',
    'Generated by `make bench` (`bench/run.ts`); the raw figures are in `bench/results.json` (not committed).',
    'Every figure is compared with a baseline measured in the same run, on the same machine, and reported as',
    'the ratio ours / baseline. Load comes from separate processes over loopback.',
    '',
    '## Machine',
    '',
    table([
      ['', ''],
      ['Date', r.generatedAt],
      ['CPUs (nproc)', String(m.nproc)],
      ['CPU model', m.cpuModel],
      ['Memory', `${m.memoryGiB} GiB`],
      ['Kernel', m.kernel],
      ['Node.js', r.versions.node],
      ['Kubernetes (kube-apiserver)', r.versions.kubernetes],
      ['etcd', r.versions.etcd],
      ['Load average (1 min) at start / end', `${m.loadAverageAtStart} / ${m.loadAverageAtEnd}`],
      ['Bench duration', `${r.durationSeconds} s`],
    ]),
    '',
    'A load average above the CPU count means other work shared the machine; the ratios, measured in',
    'alternating rounds, are meant to be robust to that, the absolute numbers are not.',
    '',
    '## Figures',
    '',
    table(figureRows),
    '',
    '![Latency distributions](benchmarks-latency.svg)',
    '',
    peersSection(r.details),
    '## How each figure is measured',
    METHOD,
    '## Findings',
    '',
    findings.trim(),
    '',
    '## Details',
    '',
    acceptSection(r.details),
    longAcceptSection(r.details),
    scaleSection(r.details),
    memorySection(r.details),
    profileSection(r.profiles),
  ].join('\n');
}

/** What the figures mean and what was changed because of them; kept by hand, next to the code that measures. */
export const FINDINGS = `
The figures above are this run's. The causes below were found with \`BENCH_CPU_PROFILE=1\` (V8 profiles
of the operator process, summarized by \`node bench/profile-summary.ts\`), \`--trace-gc\`, and CPU time
read from \`/proc\`; the numbers quoted here come from those investigation runs, on earlier 2-core machines
(see the note opening "What still misses").

### Changed in the operator because of these figures

- **Log redaction was most of a rejected request's cost.** pino's \`redact\` with our 130 wildcard paths
  parsed and walked every path for every line: 36% of the operator's CPU on the reject path. It is now
  one walk over the line's fields (\`redactSensitive\` in \`src/observability/logger.ts\`, also applied to
  child bindings); the logger's tests are unchanged and pass. Figure 1 went from 0.12 to 0.35–0.4.
- **Every API request paid for a new client.** \`KubeClient\` let \`@kubernetes/client-node\` build a new
  undici dispatcher per request: a TLS handshake per request (one pooled dispatcher fixed that), then
  WHATWG \`fetch()\` (about 0.3 ms of CPU per call; now undici's \`request()\`), then the kubeconfig's
  authentication applied per request — three certificate files read and a dispatcher built and closed,
  the close creating an Error (3% of the receiver's CPU on the accept path; it is now applied every
  10 s, and again whenever the pool is dropped). Together they took figure 3a from 0.26 to 0.4–0.6, and
  3e to 0.8–1.15, in our runs.
- **A rejected request's error captured a stack trace** that nothing reads: \`WebhookError\` no longer
  does (5% of the reject path's CPU).
- **Informer caches held \`managedFields\`,** which nothing reads: a cached trigger took 5.6 KB of heap
  with them and 1.5 KB without, a cached Secret 2.1 and 1.0 KB. The informer now drops them.
- **The work queue's \`Array.shift()\`** copied the whole queue on every take once it held thousands of
  keys (3.1 s of the controller's CPU while 10,000 triggers were queued); it is now an O(1) FIFO.
- **The replay look-up asked the API server.** A planasonix delivery carries its delivery ID outside
  the signature, so before creating a run the receiver looks for one made from the same signed
  content. As a LIST by label that cost the API server 3.4 ms of CPU per delivery against 2.0 ms for
  the create alone (it filters every PipelineRun of the namespace, a number that grows with the
  history); served from the watch cache (\`resourceVersion=0\`) it cost as much. It is now a \`Map\`
  look-up in the operator's PipelineRun informer, indexed by replay key: figure 3a went from 0.47–0.50
  to 0.8–1.0, as high as the standard-webhooks trigger that needs no look-up (3e).
- **An Event for every new trigger.** A SecretCreated Event per new trigger was a fifth of the API
  server's CPU while 10,000 triggers became Ready (95.7 s of kube-apiserver CPU with it, 77.6 s
  without; Ready in 65 and 56 s). A new trigger now gets none: its status says Ready and names the
  Secret. One whose Secret went missing and was recreated still gets one. Events now go out two at
  a time from a bounded queue (\`planasonix_events_dropped_total\` counts what does not fit), so a
  burst of them never competes with the writes that do the work.
- **Retries into a namespace being deleted.** Deleting the 1,000-trigger namespace deleted the
  triggers' Secrets first; each trigger recreated its Secret, was refused (403, cause
  NamespaceTerminating) and retried with backoff: 7,600 refused creates while the namespace went
  away. Controllers now drop that error, as client-go's do.
- **\`@kubernetes/client-node\` loaded every generated API model** to give us \`KubeConfig\`: about
  80 MiB of each process's RSS. A resolve hook, registered by \`src/kube/client-node-seam.ts\` before it
  loads the library, gives \`KubeConfig\`'s module the two small generated modules it uses; credentials load as before.
- **The heap settings.** With the Deployment's \`--max-old-space-size=192\` V8 ran a mark-compact
  about once a second at 10,000 triggers, each freeing little (34 s of operator CPU instead of 12, and
  Ready in 84 s): the burst then held 10,000 Event writes in flight and the generated API models
  above, and the live heap neared the cap. Without any flag RSS reached 433 MiB, mostly V8's young
  generation and garbage not yet collected (the live heap after a full GC is 60–70 MiB). With both
  fixed, the Deployment now sets a 4 MiB semi-space and a 160 MiB old space: 193–198 MiB at 10,000
  triggers and no more operator CPU during the burst. The cap has a price at that scale, though: see
  figure 4e.
- **Log lines were written synchronously**, one \`write()\` per line: 4–8 µs of each rejected request.
  They are now written asynchronously (pino flushes what is pending at exit, crashes included).
- **Then one asynchronous write per line cost the accept path more** (2026-12-04, evening). At a few
  hundred deliveries per second each line was its own trip through libuv's thread pool, waking a
  worker thread and then the event loop: Node's \`writeString\` (the file write) was 16.5% of the
  receiver's busy time in a V8 profile of the accept phase. Lines now go out 4 KiB at a time, and at
  most 500 ms late when traffic is light (sonic-boom's \`minLength\` and \`periodicFlush\`; still
  flushed at exit). After: \`writeString\` 4.7%, the receiver's busy time per delivery 1.43 → 1.23 ms
  (the two profiled runs). From \`/proc\`, in two alternating pairs of accept-only runs: the
  receiver's CPU per delivery, all threads, 1.43 → 1.27 ms (its main thread 1.11 → 1.04) in one, the
  main thread's 1.19 → 1.14 ms in the other; figure 3g 0.73 and 0.79 before, 0.85 and 0.86 after
  (0.825 in the full run that followed, load average 1.8–3.9 during its accept phase). The reject path did not move (at 10,000 lines a second they were
  already batched), and figure 1d's Koa app writes through the same destination.
- **undici 8.13.1's HTTP/2 client ended the process twice in about ten runs** with an unhandled
  \`'error'\` ("socket idle timeout") on a stream it had already released. \`KubeClient\` now speaks
  HTTP/1.1 to the API server, where a failure stays with its request.
- **The image ran the TypeScript sources** through Node's type stripping (amaro, a wasm module), and
  V8 kept their comments in each module's source text. The image and the bench now run \`tsc\`'s
  output (\`tsconfig.build.json\`): loading the operator's module graph took 130 MiB of RSS from the
  sources and 106 MiB compiled; an idle receiver replica went from 126–135 MiB to 108 MiB. The accept
  path did not change (four alternating runs of figure 3: 3a 0.41–0.48 compiled, 0.40–0.44 from the
  sources).
- **Every process loaded the CEL library and ajv at start**, for filters and payload schemas that most
  triggers do not have; importing CEL builds its standard library and a protobuf registry. They now
  load with the first trigger that needs them (2026-12-04, evening): an idle receiver replica with no
  such trigger went from 107.5 to 102 MiB of RSS (anonymous 53 → 47.5 MiB, V8 heap in use 24.7 → 21),
  two fresh replicas each. In the full run that followed (2026-12-04, 16:44), figure 6's idle RSS
  read 103 MiB against Flux's 63.8 (1.61; 1.70 in the run before) and 4d 158 MiB with 60 MiB of heap
  in use (189 and 72 in the run before; 153 in a scale-only run). What is left above an empty Node.js process is mostly the node binary's own
  pages that TLS, HTTP and the optimizing compilers touch (mapped from the file: 54 MiB against 34
  for an empty process) and the loaded modules' source text.
- **A Pipeline's trigger count woke all its triggers.** The Pipeline controller wrote the count as
  often as its one key could be reconciled while triggers arrived, and the trigger controller
  reconciled every trigger of the Pipeline on each of those writes, though a trigger reads only its
  Pipelines' specs. Counts are now written once the changes have gathered for a second (3 writes for
  200 triggers applied at once), and only a spec change wakes the triggers.
- **Our own scheme paid for a replay record.** A planasonix delivery ID was outside the signature, so
  every delivery cost a DeliveryRecord create before its run (figure 3f: 0.53–0.71 of the same
  receiver without it). A \`v2=\` signature now covers the ID, and a trigger with
  \`spec.auth.signedDeliveryIdOnly\` accepts it alone and keeps no record (figure 3g, 0.80–0.83 of the
  bare client in the runs that added it, near standard-webhooks' 0.69–0.77). Only a trigger that
  refuses v1 can trust the ID: elsewhere a v1 signature of the same content may exist.
- **A Pipeline's status woke all its unfinished runs,** though runs read only its spec, and a run woken
  before the Job cache showed its new Job created it again (refused, then read back: one delivery in a
  hundred in figure 5e's first count). Runs now wake on a spec change only, and a created Job is
  expected in the cache before the run is decided again, as the trigger controller does for Secrets.
- **Figure 4e measured the phases before it.** It compared the process that runs controllers and
  receiver together, at 10,000 triggers, with figure 1 taken 15 minutes earlier on the same kind of
  process, fresh. In full runs that process had served the accept and end-to-end phases and cached
  their thousands of runs and Jobs: 4e read 0.35–0.69 there (212–261 µs of CPU per rejected request
  in a full run of 2026-12-03, against 80–169 in figure 1's rounds), but 0.9–1.1 in runs of
  the scale phase alone (84–110 µs at 10,000 triggers, GC pauses about 6 µs per request, as at 10).
  Webhooks are served by receiver replicas, which cache no runs, so 4e (and 4j) now alternate two
  fresh replicas with the receiver Deployment's flags in the same minutes, one serving every trigger
  and one only the bench's 10: 1.10 in the first full run that did (CPU per request 158 against 159 µs, GC pauses
  9.7 against 10.2). The old 4e measured an all-in-one process (\`make dev\`'s shape) that also caches
  thousands of runs under the 160 MiB cap; how much of its cost was GC was not measured then.
- **The benchmark itself** authenticated the operator with the control plane's admin client
  certificate, and the API server verified its chain on every request (7% of its CPU while triggers
  became Ready). The operator and the bare client now use a token of \`deploy/\`'s ServiceAccount, under
  its RBAC, as in a cluster. Its verifying Koa baseline (1b) imported the HMAC key on every request
  (10 µs more than the receiver's prepared key); it now prepares it too.

### What still misses, and whose it is

The figures above come from a fresh clone on a new machine (2026-12-04, 19:07; an AMD EPYC where
the 16:44 run had an Intel Xeon): \`make bench\` built both peers from their Go modules (Tekton 125
s, Flux 177 s) and ran in 1,781 s. Per request this machine is slower (figure 1c: 144 µs of CPU per
rejected request, against 92–100 on the Xeon; the bare Koa app 42 µs against 25), and the ratios
moved both ways: 1b 0.51 (0.40 on the Xeon at 16:44), 3e 1.00 (0.76), 3g 0.876 (0.825), 4e 0.854
(0.797), 4j 0.912 (0.812), 4b 110 s where the creates alone took 43 (92 and 34), figure 6's idle RSS
102 MiB against Flux's 62.9 (103 and 63.8). The causes below were measured on earlier machines; the new
machine's figures fit each of them.

- **Figure 1 (reject path vs bare Koa): the work a receiver must do.** The bare Koa app never reads the
  body. A Koa app that reads it and checks an HMAC with a prepared key, the least any verifying
  receiver does, reaches 0.53–0.85 of the bare app on this machine (figure 1b against figure 1's
  baseline), so 0.85 is out of reach for any receiver that verifies. Against that app ours is
  0.42–0.52. Figure 1c is the budget, from \`/proc\`: 91–101 µs of CPU per rejected request in the
  runs that measured it, against 41–45 µs for the Koa app that reads and verifies and 24–33 µs for
  the bare one. The receiver is one thread and saturates its core (the load generator has the
  other), so its rate is the inverse of that budget: 1b's 0.75 asks for about 60 µs. Where 100 µs
  go, from a V8 profile of the reject phase (\`BENCH_CPU_PROFILE=1\`, 2026-12-03, about 234,000
  requests), per request: Node's HTTP server and
  streams 15 µs; our middleware (route, admission, budget, body read, verification, the error
  answer) 12; the log line 10 (pino, its ISO time, our redaction, the write to stdout); garbage
  collection 9; Koa and its helpers 9; the HMAC and the SHA-256 8; metrics 5; the socket write the
  rest, about 25 µs by \`/proc\` (the profile charges it 40, with the time the kernel runs the load
  generator it woke). No part is large enough that removing it gets to 60 µs short of dropping the
  log line and the metrics, which the issue keeps. Before: 0.12 of Koa while every log line went
  through pino's \`redact\` (36% of the CPU), 0.22–0.48 of Koa since (the machine's load moves it).
  **Figure 1d measures what keeping them costs** (added 2026-12-03, late evening): the verifying Koa
  app of 1b, when it also writes the receiver's log line and records its metrics through the
  operator's own \`observeRequest\`, falls to 0.67 of itself in the full run that evening (0.72 in a
  reject-only run), its CPU per request from 30.6 to 46.8 µs. So 1b's 0.75 is out of reach for
  any receiver that keeps the two, however little else it does. The two cost 6.5 µs in a loop of
  their own (pino's line 4.9, of which our redaction 0.1 and pino with its defaults 4.3; the three
  metric updates 1.5); in a server they cost 16, because a slower server also pays more in the
  kernel per answer. 1c's note shows that part: ours spends 21–22 µs per request in the kernel, the
  verifying app 7.3–7.7 and the logging one 13.1–13.6 (the last two full runs), for the same one read and one write (\`strace -c\`).
  The load generator is faster than each of them and sleeps between answers, so each answer's write
  wakes it, and the slower the server, the more often it finds it asleep; the verifying app with a
  50 µs busy loop added per request went from 8.7 to 16–20 µs of kernel time per request (two runs
  each); \`perf\` finds 18% of ours's CPU samples in that wake-up under the socket write, against 14%
  of the verifying app's. Against the app that
  logs and counts, ours is 0.57 (1d): the rest is the receiver's own middleware (route, address,
  availability, rate limit, admission, bounded body read, the error answer), Koa's dispatch of 12
  middleware instead of 2, and the kernel time its extra CPU brings with it.
- **Figures 3a/3b (planasonix accept path): the replay record, then the receiver's own CPU.** A
  delivery whose ID the signature leaves out costs two creates, its DeliveryRecord and its run (3f:
  0.48–0.71 of the same receiver without the record; 3a 0.38–0.49); figure 5e counts it. A trigger
  with \`signedDeliveryIdOnly\` has none (3g), and neither has standard-webhooks (3e): 3g held 0.80–0.83
  of the bare client in the runs that added it, 0.67–0.75 in the full runs of 2026-12-03's second session,
  3e 0.69–0.87 (0.64–1.05 over earlier runs). What separates them from 0.9 is that the receiver runs
  on the API server's two cores: the CPU table below gives it about 1 ms per delivery (its HTTP
  server, the verification, one API request over TLS, the log line), against 0.3–0.4 ms for the bare
  client, and that time comes out of the API server's, which bounds both. Where that 1 ms goes, per
  thread (\`/proc/<pid>/task\`, one accept phase): the main thread 90%, V8's GC helpers 8–10%, libuv's
  pool (the log writes) under 1%; with the record, the main thread spends 1.9–2.2 ms per delivery,
  without it 1.0–1.1. The API client is not the difference: alone against the same API server, 16
  creates in flight, \`KubeClient.create\` costs 180–250 µs of CPU once warm and a bare undici
  request 200–240 µs, both about 0.55 ms one at a time; dropping the per-request AbortSignal changed
  nothing measurable. What remains is the cost of serving HTTP and sending one TLS request at a few
  hundred deliveries per second, where every event wakes the process alone. github cannot sign its
  delivery ID (GitHub's format), so it keeps the record.
- **Figure 3d (full operator) and 5e: writes per delivery.** Until the run shows its Job, a delivery
  costs the API server 5 writes (5e): the DeliveryRecord, the PipelineRun, the Job, the run's status
  and its Event (4 with \`signedDeliveryIdOnly\`, 5f), where the bare client makes one. With the API server
  the bound, 3d cannot pass about a quarter of the bare client while the run's status and its Event
  stay, which the issue keeps; 0.12–0.19 in the runs of 2026-12-03. The Event is written from a
  bounded queue two at a time, so it never delays the writes that do the work; dropping it would be
  the next step.
- **Figure 4b (10,000 triggers Ready in 40 s, issue 16's target; 60 s before it): the API server on
  this machine.** 56–65 s in the runs that found the causes above, where the creates alone took
  about 22 s; 110–143 s in the last three
  full runs (2026-12-03), where the creates alone took 37–49 s: the API server on this machine
  became slower by as much as the whole, and Ready stayed about three times the creates. On the new
  machine of the figures above the bench's creates alone, with no write of ours, took 43 s: over
  the target before the operator does anything. Every
  trigger needs two writes of ours (its Secret and its status), and the API server spends 8–9 ms of
  CPU per trigger in all (15–20 ms in the last three runs; 11.5 ms in the full run of 2026-12-04,
  afternoon, Ready in 77 s where the creates alone took 30; 13.6 ms in the evening's (16:44),
  Ready in 92 s where the creates alone took 34; 76 s and 27 in a scale-only run after it). Its profile while the triggers become
  Ready: the status patch is 40% (decoding the stored object, applying the merge patch, CEL
  validation of the whole object — the spec's rules run again on a status write — and managed
  fields), garbage collection most of the rest. The machine's two cores are saturated: the operator
  itself takes 12–32 s of CPU for the 10,000.
- **Figures 4g–4j (issue 16's 30,000-trigger point): the scale that needs a larger heap, and 4j.**
  In the two full runs that measured it (2026-12-03): 30,000 triggers Ready in 392–398 s, about three
  times the creates alone (133 s), as at 10,000 (4b, for the same reasons); the operator held
  352–356 MiB (V8 heap 198–232 MiB in use) and a fresh receiver replica 282–287 MiB (heap 166–173
  MiB), ready 10–11 s after start: 5.3 KiB (replica) and 7.7 KiB (operator) of RSS per trigger from
  10,000 to 30,000. Neither fits the Deployment's 160 MiB old-space cap: past about 15,000 triggers,
  raise the cap and the memory limit together (the README's sizing). 4j, the reject path with them
  loaded, was 0.83 in the first
  of them: the replica serving 30,000 spent more CPU per rejected request than the one serving 10
  in every one of the five paired rounds (167–208 µs against 132–157), while at 10,000 the two
  were equal (4e). GC pauses account for 4.6 µs of the 45 µs (13.3 against 8.7 µs per request). A
  second run of the point (\`BENCH_PHASES=reject,scale,scalexl\`, with the CPU of each thread from
  \`/proc/<pid>/task\`) gave 0.83 again (CPU per request 128 against 113 µs, medians), and split the
  15 µs: the main thread spent 96–139 µs per request against 77–118 (medians 112 and 102; more in
  every round), about 2 µs of it in longer scavenges; V8's worker threads (concurrent marking of a
  170 MiB heap instead of a 30 MiB one) 3–30 µs against 3–19 (medians 10 and 5). So a larger
  heap makes every request dearer on the main thread itself, beyond the pauses: no code path grows
  with the number of triggers (the route look-up is a \`Map\`, 4f), which leaves the processor's
  caches and the scavenger's work with a large old space as the likely cause, and neither was
  measured. The way forward was a smaller heap per trigger: a replica held about 4.9 KiB per
  trigger (heap snapshots at 10 and 10,000 triggers), for the cached trigger, its Secret and the
  compiled route. Since then (2026-12-03, evening) a replica caches only what routing reads of each
  (\`src/receiver/routing-view.ts\`: no conditions' messages, status references, URL or annotations)
  and the routing table keeps one entry per trigger: 3.8 KiB per bench-shaped trigger instead of 4.65
  in a heap snapshot of 10,000. The full run after it: the replica at 30,000 held 259 MiB (heap 142
  MiB in use, was 166–173) and was ready in 5.7 s (was 10–11); 4j read 0.946 (CPU per request 90.9
  against 83.9 µs, medians), against 0.83 twice before. 4e, the same pairing at 10,000, read 0.84 in
  that run (98 against 81 µs) after 1.10 the run before. **Not met** (2026-12-03, late evening): to
  tell the target from that noise, 4e and 4j now measure two pairs of fresh replicas; in the full run
  of that evening 4j read 0.852 (94.1 against 79.5 µs) and 4e 0.897, and 4e 0.891 in a scale-only run;
  in the full run of 2026-12-04, afternoon, 4j met it (0.961, 85.0 against 81.5 µs) and 4e did not
  (0.901, 91.5 against 80.9); in the evening's (16:44), the second pair's replica
  serving many triggers was the slow kind at both scales, at 10,000 twice as slow as its twin (about
  200 against 100 µs per request, with 2–3 times its GC), so 4e read 0.797 and 4j 0.812; a
  scale-only run right after it read 4e 0.977, both pairs' replicas as fast as their twins. What
  that noise is: a replica serving 10,000 triggers is either as fast as its twin serving 10 or
  15–20% slower, for its whole life. In the scale-only run the first pair's was equal (78–84
  against 75–82 µs per request, every round) and the second's slower (93–99 against 78–81); in the
  full run the other way round; at 30,000 both pairs' were slower. Ruled out, by measurement:
  watch traffic (the replicas read nothing between rounds, \`/proc/<pid>/io\`); the routes and the
  heap themselves (the receiver app with 30,000 compiled routes and a 150 MiB heap, in a process of
  its own with the Deployment's flags, ran at 0.95–1.01 of the same app with 10 routes in six
  alternated pairs, median 0.98); and any code path that grows with the triggers (4f). A CPU
  profile of a slower replica shows its main thread's garbage collection 50% dearer (1.45 against
  0.97 s over three rounds), and no function of the request path standing out in the rest. Ten
  scale-only runs that evening gave 4e 0.89–1.04; 7 of their 22 replicas serving 10,000 were of the
  slow kind, 5 of them in the second pair. V8's own trace (\`--trace-opt --trace-deopt\`) of one
  slow replica showed Node's HTTP answer code (\`writeHead\`, \`write_\`, \`end\`), which the webhook
  and metrics servers share, deoptimized at each \`/metrics\` scrape, where three fast replicas had
  no such deopt; with the metrics server answering the way Koa answers, the deopts were gone and the
  next replica of the slow kind was as slow (84–90 against 70–74 µs), so they were not the cause and
  the change was not kept. **What decides the kind, narrowed** (2026-12-04; \`BENCH_PHASES=scale\` with
  \`BENCH_SCALE_PAIRS=6\`, two rounds a pair, and \`BENCH_SCALE_EXTRA_NODE_OPTIONS\` for the replica
  serving 10,000; a replica counts as slow when it spent 10% more CPU per request than its twin in both
  rounds). Nothing the operator or Node.js's settings control decides it:

  - *The hash seed*, fixed (\`--hash-seed\`, one seed for the odd pairs, another for the even): each
    seed gave both kinds (1 of 3 and 2 of 3 slow, 85–93 against 73–78 µs per request).
  - *The address-space layout*, fixed too (ASLR off, \`kernel.randomize_va_space=0\`, one seed for all):
    4 of 6 slow.
  - *V8's own concurrency*, removed on top (\`--predictable\`: no concurrent marking, sweeping or
    compilation): 2 of 6 slow, and 3 of 4 in a second run with ASLR back on, at 89–127 against 71–77
    µs per request. With every collection on the main thread, the slow kind's GC pauses were 3–4
    times the fast kind's (1.1–1.4 s a round against 0.3–0.4): the work that does nothing but walk
    memory slowed most, as it does on a processor that waits on memory.
  - *The heap's layout as the informers left it*: a full, memory-reducing GC (a heap snapshot) after
    two rounds left both slow replicas of that run slow (the first at 93 and 87 µs per request in its
    rounds before, 100 and 96 after, its twin at 74 and 71, then 78 and 74), and the fast one came out
    10% slower, its twin 5%.
  - *Garbage collection itself*: V8's trace (\`--trace-gc\`) of six replicas serving 10,000, three slow
    and two fast, shows the same 1,450–1,550 scavenges and 18–20 mark-compacts over the same rounds,
    at the same heap sizes (66–72 MiB after each), and \`/proc\` the same CPU in V8's helper
    threads; V8's counters give both kinds the same GC pauses (scavenges 0.19–0.22 s a round: the
    50% dearer GC of the profile above was not seen again).
    The slow kind allocates and collects exactly as the fast one does; its main thread runs the same
    work more slowly, in every function alike.
  - *Where the scheduler runs it*: every replica pinned to the second CPU and the load generator to
    the first (\`taskset -a\`, applied as each process started): 4 of 6 slow, at 86–98 against 71–78 µs.
  - *The processor's TLB for code*: with the node binary's code on 2 MiB pages
    (\`--use-largepages=on\`, 40 MiB of huge pages in the replica), 4 of 6 slow, at 83–92 against
    73–80 µs. Huge pages for the heap could not be tried: V8 maps it in 256 KiB pages, so with
    transparent huge pages \`always\` a replica held 2 MiB of them.

  What is left is where a process's memory falls in the machine's caches: its physical pages. This
  VM exposes no hardware counters (\`perf\`: cycles, cache and TLB misses "not supported"), so the
  misses themselves cannot be counted, but the effect can be shown without them.
  \`bench/memory-placement.ts\` runs the same memory-bound work in ten processes: a pointer chase
  through 512 cache lines, one per page of a 64 MiB buffer, in the same order in each. Within one
  process the three passes agree to 0.3–1.3%; between processes they are 23–37% apart (13.4–18.6 ns
  a step), with ASLR on and with it off. With it off, the same chase written in C (a one-off, not
  kept) had its buffer at the same virtual address in every process and was still 31% apart
  (12.9–16.9 ns), so the physical pages decide (the 4 MiB L2 is indexed by physical address). A
  replica serving 10,000 triggers keeps 70 MiB of heap, one serving 10 keeps 28: the objects that
  each request and each collection touch lie on more pages, and more of them can meet in one cache
  set. None of the 43 twins serving 10 of these runs was of the slow kind. That is what stands
  between 4e and 4j and 0.95: the physical pages a process is given, which no code or V8 flag we
  tried controls. What would lower it is a smaller heap per trigger (fewer pages walked), which the
  routing view above began.
- **Figure 5 (202 → Job):** the run controller's informer hop, work queue and Job create add 10–25 ms at
  the median to the bare client's second write; the tail follows the run controller's other writes
  (status, Event) and its garbage collection. Once the receiver accepted faster (the replay look-up
  above), 4 run-controller workers could no longer keep up with 4 concurrent senders and runs waited
  200–300 ms in the queue; the controller now has 16.
- **The github accept path in a long run (issue 16's question).** A side-by-side run with the peers once
  had our github accept path at about 170 runs/s (p50 85 ms), a quarter of figure 3a. Measured with
  \`BENCH_PHASES=longaccept\` (one receiver replica; 5 s chunks rotating the bare client, the planasonix
  trigger and the github trigger until 20,000 runs were stored, none deleted, so the receiver's
  PipelineRun cache and replay index grew to 20,000 for all three alike), on a machine shared with
  other work (load average 14–19): the github path held 0.80 of the bare client and the planasonix path
  0.73 (medians over chunks), with no decline from the first half of the run to the second (github 295
  → 293 runs/s, planasonix 252 → 271, bare 361 → 410). The receiver's CPU per accepted run stayed flat
  at 0.9–1.0 ms for both schemes from 4,000 to 19,000 cached runs (1.0–1.3 in the first chunks): the replay look-up is a \`Map\` look-up and does not
  grow with the cache. What the cache does cost: about 1.3 KB of V8 heap per cached run (heap 31 → 57
  MiB, RSS 145 → 188 MiB over the run, far from the 160 MiB old-space cap; GC was 4–8% of each chunk),
  and 0.2–0.25 ms of receiver CPU per run stored by anyone (the receiver decodes every run's watch
  event: 0.37–0.54 CPU s per bare-client chunk of about 2,000 runs, while it served nothing). The V8
  profile of that receiver: socket writes 32% of its busy time (on a loaded machine the write that
  wakes another process is charged here), GC 14%, the rest spread thin. So the slow run was the
  machine, not the scheme or the cache; the remaining gap to the bare client is the receiver's own
  ~1 ms per delivery taken from the two cores the API server needs, which a busy machine magnifies.
  Making the receiver's run cache hold only what the replay look-up needs (or watch metadata only)
  would save the memory and part of that CPU. Since then the replay record of issue 13
  (\`src/receiver/delivery-records.ts\`, figure 3f) has replaced the look-up, and the receiver caches
  no runs at all. The same mode after that change, 9,000 runs on a machine even busier (load average
  19–22; the bare client itself fell to 61–272 runs/s): the receiver's RSS stayed flat at 137–141 MiB
  and its heap at 28–39 MiB; each github or planasonix delivery is now two creates (its record, then
  its run) where the bare client makes one, and the paths held 0.42 (github) and 0.52 (planasonix) of
  the bare client, the receiver's CPU 1.5–2.1 ms per run. What the record alone costs is figure 3f,
  measured in every run against the same receiver serving a standard-webhooks trigger (whose signed
  delivery ID needs no record): 0.60 in a full run on a quiet machine (2026-12-03, load average 0 at
  the start), the record's create doubling the API server's writes per delivery.
- **Figure 6 (the peers).** Over ten runs on the loaded machine (nine of one round, one of three;
  load average 9–19), all before the replay record of issue 13 landed, what held in every run: ours answered the reject path 1.9–8.6× Flux and 3.9–22×
  Tekton (whose sink answers 202 to a wrongly signed request: it answers before it verifies); stored
  1.9–5.6× the objects per second of Flux and 18–74× Tekton with its defaults (client-go's 5
  requests/s: 93–98% of its 2xx answers never became a PipelineRun); its receiver CPU per stored
  object was 0.7–1.3 ms, as Flux's (0.9–1.5) and under Tekton's with 1000 QPS (2.1–3.3); and the API
  server and etcd spent 2.3–2.5 ms of CPU per object it stored, against 2.6–3.4 for Tekton's create and
  9–13 for Flux's annotation patch. Against Tekton with its API limit raised to 1000 the stored rate went
  both ways (0.48–2.8×, below 1 in three runs of eight): that Tekton is not held to the sender's 16
  connections, since it answers first and then creates from as many goroutines as deliveries are
  pending, while ours, like the bare client of figure 3, has at most 16 creates in flight; it paid with
  0–23% of its 2xx answers never stored. Memory is where ours loses: idle RSS 114–139 MiB against 66–69
  MiB for Flux and 91–94 MiB for Tekton's two processes (under load Tekton's rose to 131–476 MiB: its
  backlog is held in memory). Where an idle replica's memory goes is now measured in every run (the table under Details): of its
  108 MiB, 54 are the node binary's pages mapped from the file (an empty Node.js 24 process has 34 of
  them; file-backed, so shared by the processes that map the same binary and reclaimable), 54 are
  anonymous, and the heap after a full GC holds 28 MiB, 11 of them strings, mostly the loaded modules'
  source text, which V8 keeps for lazy compilation. At 10,000 triggers the live heap is 76 MiB (28 of
  strings, 20 of objects: about 5 KiB per trigger's cached objects, route and compiled verifier). The
  replica held 217–223 MiB there, over issue 16's 200 MiB (figure 4d), while its informers kept a
  whole list until its last page: the list's managedFields reached the old space (113 MiB in use for
  76 live) and stayed there, since an idle process allocates nothing and so collects nothing (RSS
  sampled every 5 s for a minute did not move). Stripped page by page (2026-12-03), the replica
  holds 177–180 MiB with 75–77 MiB of heap in use. A Go process starts from a few MiB;
  Node.js starts from 42, so Flux's 64 MiB is out of reach for this receiver; a bundled, minified
  build would take part of the source text off the heap. One run after the replay record landed: the API server and etcd
  spent 3.2 ms per run ours stored (record and run) against 2.3 for Tekton with 1000 QPS, which stored
  271 runs/s to our 211 (0.78); Flux and Tekton's defaults as before.
`;
