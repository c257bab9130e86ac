// Reads a V8 .cpuprofile (node --cpu-prof) and lists where the time went: the top functions by self
// time, and self time grouped by module (our src/ files, each npm package, Node internals).
//   node bench/profile-summary.ts <file.cpuprofile> [top]
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Sampled time outside idle and GC bookkeeping nodes. */
  busyMs: number;
  topFunctions: { selfMs: number; percentOfBusy: number; function: string; location: string }[];
  byModule: { selfMs: number; percentOfBusy: number; module: string }[];
}

function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const src = /\/(src|bench|test)\/(.+)$/.exec(url);
  if (src) return `${src[1]}/${src[2]}`;
  if (url.startsWith('node:')) return url;
  return url;
}

export function summarizeCpuProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const perFunction = new Map<string, { us: number; fn: string; location: string }>();
  const perModule = new Map<string, number>();
  let totalUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id)!;
    totalUs += us;
    if (callFrame.functionName === '(idle)' || callFrame.functionName === '(program)') continue;
    busyUs += us;
    const location = callFrame.url ? `${callFrame.url.replace(/^file:\/\/.*?\/(src|bench|node_modules|test)\//, '$1/')}:${callFrame.lineNumber + 1}` : '';
    const fn = callFrame.functionName || '(anonymous)';
    const key = `${fn}@${location}`;
    const entry = perFunction.get(key) ?? { us: 0, fn, location };
    entry.us += us;
    perFunction.set(key, entry);
    const mod = moduleOf(callFrame.url, callFrame.functionName);
    perModule.set(mod, (perModule.get(mod) ?? 0) + us);
  }
  const pct = (us: number) => Math.round((us / (busyUs || 1)) * 1000) / 10;
  return {
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    topFunctions: [...perFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({ selfMs: Math.round(e.us / 1000), percentOfBusy: pct(e.us), function: e.fn, location: e.location })),
    byModule: [...perModule]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([module, us]) => ({ selfMs: Math.round(us / 1000), percentOfBusy: pct(us), module })),
  };
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node bench/profile-summary.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  const s = summarizeCpuProfile(file, Number(process.argv[3] ?? 25));
  process.stdout.write(`sampled ${s.totalMs} ms, busy ${s.busyMs} ms\n\nby module:\n`);
  for (const m of s.byModule) process.stdout.write(`  ${String(m.selfMs).padStart(7)} ms ${String(m.percentOfBusy).padStart(5)}%  ${m.module}\n`);
  process.stdout.write('\ntop functions (self time):\n');
  for (const f of s.topFunctions) process.stdout.write(`  ${String(f.selfMs).padStart(7)} ms ${String(f.percentOfBusy).padStart(5)}%  ${f.function}  ${f.location}\n`);
}
