// The machine the figures were measured on, and CPU accounting of the processes involved (so a
// slow phase can be attributed: the API server, etcd, or our operator).
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  /** 1-minute load average when the bench started: other work on the machine skews every figure. */
  loadAverageAtStart: number;
}

export function machineInfo(): MachineInfo {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    // not Linux
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverageAtStart: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

export function loadAverage(): number {
  return Math.round(os.loadavg()[0]! * 100) / 100;
}

interface ProcInfo {
  pid: number;
  ppid: number;
  args: string[];
  cpuSeconds: number;
  /** Of cpuSeconds, the time spent in the kernel on the process's behalf (its syscalls). */
  systemSeconds: number;
}

function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { pid, ppid: Number(rest[1]), args, cpuSeconds: (Number(rest[11]) + Number(rest[12])) / 100, systemSeconds: Number(rest[12]) / 100 };
  } catch {
    return undefined; // gone meanwhile
  }
}

/**
 * The control plane this process started: `controlplane up` (which embeds etcd) and its children
 * kube-apiserver and kube-controller-manager. Found through parent pids, never by name alone, so
 * other control planes on the machine are not counted.
 */
export function controlPlaneProcesses(): Record<string, number> {
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readProc(Number(d)))
    .filter((p): p is ProcInfo => p !== undefined);
  const up = all.find((p) => p.ppid === process.pid && p.args.includes('up') && (p.args[0] ?? '').includes('controlplane'));
  if (!up) return {};
  const out: Record<string, number> = { 'etcd (in controlplane up)': up.pid };
  for (const child of all.filter((p) => p.ppid === up.pid)) {
    const role = child.args.find((a) => a === 'kube-apiserver' || a === 'kube-controller-manager');
    if (role) out[role] = child.pid;
  }
  return out;
}

export function cpuSecondsOf(pid: number): number {
  return readProc(pid)?.cpuSeconds ?? Number.NaN;
}

/** Of cpuSecondsOf, the kernel's part (system time). */
export function systemCpuSecondsOf(pid: number): number {
  return readProc(pid)?.systemSeconds ?? Number.NaN;
}

/**
 * A process's CPU seconds so far by thread kind, from /proc/<pid>/task/<tid>/stat: the main thread
 * (named like the process), V8's workers (concurrent marking, compilation), libuv's pool. Threads
 * of one name are summed.
 */
export function threadCpuSeconds(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out; // gone
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = Number(tid) === pid ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).trim();
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + (Number(rest[11]) + Number(rest[12])) / 100;
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** CPU seconds used by each named process between two snapshots. */
export class CpuMeter {
  private readonly pids: Record<string, number>;
  private readonly start: Record<string, number>;
  private readonly startedAt = performance.now();

  constructor(pids: Record<string, number>) {
    this.pids = pids;
    this.start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSecondsOf(pid)]));
  }

  read(): { wallSeconds: number; cpuSeconds: Record<string, number> } {
    const cpuSeconds: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) cpuSeconds[name] = Math.round((cpuSecondsOf(pid) - this.start[name]!) * 100) / 100;
    return { wallSeconds: Math.round((performance.now() - this.startedAt) / 10) / 100, cpuSeconds };
  }
}
