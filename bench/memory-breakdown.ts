// Where a process's resident memory goes (issue 16: "say where each MiB goes"): the kernel's split
// of RSS into anonymous memory and mapped files (the node binary's pages), V8's heap by space from
// the process's own /metrics, and a heap snapshot summed by what V8 calls each object (its type,
// and for plain objects their constructor). Self sizes, not retained sizes: they add up to the heap.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

export interface HeapGroup {
  /** V8's node type (object, string, code, closure, array, hidden…), and the constructor for objects. */
  name: string;
  count: number;
  MiB: number;
}

export interface MemoryBreakdown {
  rssMiB: number;
  /** Anonymous memory: the V8 heap, Node's and the libraries' native allocations. */
  rssAnonMiB: number;
  /** Mapped files resident: mostly the node executable's own code and data. */
  rssFileMiB: number;
  /** V8's heap spaces, used MiB each (prom-client's nodejs_heap_space_size_used_bytes). */
  heapSpacesMiB: Record<string, number>;
  /** The snapshot's nodes, summed by V8 type. */
  heapByType: HeapGroup[];
  /** The largest groups of objects by constructor, and of V8's internal types by kind (never strings or closures). */
  heapTopGroups: HeapGroup[];
  heapSnapshotMiB: number;
}

const MiB = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** The Node.js flags that let memoryBreakdown ask a process for a heap snapshot, written to `dir` (which must exist). */
export function heapSnapshotFlags(dir: string): string[] {
  return ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`];
}

/**
 * Measures the process `pid`, which was started with heapSnapshotFlags(dir): RSS first, then a
 * heap snapshot (which allocates, so it comes last). The snapshot file is deleted once summed.
 * Heap spaces come from the process's /metrics, when it has one.
 */
export async function memoryBreakdown(pid: number, metricsUrl: string | undefined, dir: string, top = 15): Promise<MemoryBreakdown> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  const metrics = metricsUrl === undefined ? '' : await (await fetch(`${metricsUrl}/metrics`)).text();
  const heapSpacesMiB: Record<string, number> = {};
  for (const m of metrics.matchAll(/^nodejs_heap_space_size_used_bytes\{space="(\w+)"\} ([0-9.e+]+)$/gm)) heapSpacesMiB[m[1]!] = MiB(Number(m[2]));

  const before = new Set(snapshotFiles(dir));
  process.kill(pid, 'SIGUSR2');
  const { file, snapshot } = await waitForSnapshot(dir, before, 120_000);
  rmSync(file, { force: true });
  const summary = summarizeHeapSnapshot(snapshot, top);
  return { rssMiB: MiB(kb('VmRSS')), rssAnonMiB: MiB(kb('RssAnon')), rssFileMiB: MiB(kb('RssFile') + kb('RssShmem')), heapSpacesMiB, ...summary };
}

function snapshotFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot'));
  } catch {
    return [];
  }
}

/** V8 writes the file in pieces while the process is paused: done once its size holds and it parses. */
async function waitForSnapshot(dir: string, before: Set<string>, timeoutMs: number): Promise<{ file: string; snapshot: HeapSnapshot }> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    const name = snapshotFiles(dir).find((f) => !before.has(f));
    if (name) {
      const file = path.join(dir, name);
      const size = statSync(file).size;
      const snapshot = size > 0 && size === last ? parsed(readFileSync(file, 'utf8')) : undefined;
      if (snapshot) return { file, snapshot };
      last = size;
    }
    if (Date.now() > deadline) throw new Error(`no heap snapshot in ${dir} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function parsed(json: string): HeapSnapshot | undefined {
  try {
    return JSON.parse(json) as HeapSnapshot;
  } catch {
    return undefined;
  }
}

const NAMED_TYPES = new Set(['object', 'native', 'hidden', 'code', 'array', 'synthetic']);

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Sums a .heapsnapshot's nodes by type, and its largest groups by type and name. */
function summarizeHeapSnapshot(snap: HeapSnapshot, top: number): Pick<MemoryBreakdown, 'heapByType' | 'heapTopGroups' | 'heapSnapshotMiB'> {
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const byType = new Map<string, { count: number; bytes: number }>();
  const byGroup = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + typeAt]!] ?? 'unknown';
    const size = snap.nodes[i + sizeAt]!;
    total += size;
    add(byType, type, size);
    // Objects are named by their constructor, V8's internals by kind. Strings are named by their
    // value (which may be a secret) and closures by their function: those are summed by type only.
    if (NAMED_TYPES.has(type)) add(byGroup, `${type}: ${groupName(snap.strings[snap.nodes[i + nameAt]!] ?? '')}`, size);
  }
  const list = (m: Map<string, { count: number; bytes: number }>) =>
    [...m].map(([name, v]) => ({ name, count: v.count, MiB: MiB(v.bytes), bytes: v.bytes })).toSorted((a, b) => b.bytes - a.bytes).map(({ bytes: _, ...g }) => g);
  return { heapByType: list(byType), heapTopGroups: list(byGroup).slice(0, top), heapSnapshotMiB: MiB(total) };
}

function groupName(name: string): string {
  const short = name.replace(/\s+/g, ' ').slice(0, 60);
  return short === '' ? '(unnamed)' : short;
}

function add(m: Map<string, { count: number; bytes: number }>, key: string, bytes: number): void {
  const v = m.get(key);
  if (v) {
    v.count++;
    v.bytes += bytes;
  } else {
    m.set(key, { count: 1, bytes });
  }
}
