// Child processes of the benchmark: the operator (`planasonix run`, so its RSS is its own), the bare
// Koa baseline, and one-shot workers that print a JSON line. Every child is stopped by its own pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../test/harness/ports.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const node = process.execPath;

// Every child this process started, so that none outlives it, even when it dies of an error.
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

/** Runs `node bench/<script> '<json>'` and returns the JSON line it prints; kills it after timeoutMs. */
export async function runJsonChild<T>(script: string, arg: unknown, timeoutMs: number): Promise<T> {
  const child = track(spawn(node, [path.join(repoRoot, 'bench', script), JSON.stringify(arg)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await exited(child);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${script} exited with ${code ?? child.signalCode}: ${stderr.slice(-2000)}`);
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as T;
}

/** Resident set size and its peak (VmHWM), in MiB, from /proc/<pid>/status; NaN once the process is gone. */
export function processMemory(pid: number): { rssMiB: number; peakMiB: number } {
  let status = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // gone
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the full line, 12 and 13 after "pid (comm) ".
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export interface NativeProcess {
  pid: number;
  logFile: string;
  /** Whether it has exited (a peer that dies mid-run is reported, not waited for). */
  exited(): boolean;
  stop(): Promise<void>;
}

/** Starts a program (a peer's Go binary) with its output in logFile; stopped with SIGTERM, then SIGKILL. */
export function startNativeProcess(opts: { binary: string; args: string[]; env: Record<string, string>; logFile: string }): NativeProcess {
  const log = openSync(opts.logFile, 'a');
  const child = track(spawn(opts.binary, opts.args, { cwd: path.dirname(opts.logFile), env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env }, stdio: ['ignore', log, log] }));
  closeSync(log);
  return {
    pid: child.pid!,
    logFile: opts.logFile,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop: () => stopChild(child, 10_000),
  };
}

export interface ServerProcess {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/**
 * One of the reject path's baselines (bench/bare-koa.ts): bare, verifying, or verifying and then
 * logging and counting as the receiver does (observe, its log lines going to logFile).
 */
export async function startBareKoa(mode: 'bare' | 'verify' | 'observe' = 'bare', logFile?: string): Promise<ServerProcess> {
  if (mode === 'observe' && !logFile) throw new Error('the observe baseline needs a log file');
  const args = mode === 'bare' ? [] : mode === 'verify' ? ['verify'] : ['observe', logFile!];
  const child = track(spawn(node, [path.join(repoRoot, 'bench/bare-koa.ts'), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] }));
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bare-koa exited with ${code}`)));
  });
  return { pid: child.pid!, url: (JSON.parse(first) as { url: string }).url, stop: () => stopChild(child) };
}

export interface OperatorProcess {
  pid: number;
  components: string;
  receiverUrl: string;
  metricsUrl: string;
  healthUrl: string;
  logFile: string;
  /** Resident set size and its peak (VmHWM), in MiB, from /proc/<pid>/status. */
  memory(): { rssMiB: number; peakMiB: number };
  /** CPU seconds (user + system) the process has used, from /proc/<pid>/stat. */
  cpuSeconds(): number;
  /** V8 heap in use and allocated, in MiB, from the process's own /metrics. */
  heap(): Promise<{ usedMiB: number; totalMiB: number }>;
  stop(): Promise<void>;
}

export interface OperatorProcessOptions {
  kubeconfig: string;
  components: 'all' | 'controllers' | 'receiver';
  logFile: string;
  /** Writes a V8 CPU profile into this directory when the process exits. */
  cpuProfDir?: string;
  /** Node.js flags, as the Deployment's NODE_OPTIONS gives them. */
  nodeOptions?: string[];
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

/** The CLI as `make build` compiles it, which is what the image runs. */
function compiledCli(): string {
  const cli = path.join(repoRoot, 'dist/lib/cli/main.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`make build\` (\`make bench\` does)`);
  return cli;
}

/**
 * Starts `node dist/lib/cli/main.js run` (the compiled sources) on free loopback ports and waits
 * until /readyz answers 200.
 */
export async function startOperatorProcess(opts: OperatorProcessOptions): Promise<OperatorProcess> {
  const [webhookPort, metricsPort, healthPort] = await freePorts(3);
  const receiverUrl = `http://127.0.0.1:${webhookPort}`;
  const args = [
    ...(opts.nodeOptions ?? []),
    ...(opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : []),
    compiledCli(),
    'run',
    `--components=${opts.components}`,
    `--webhook-port=${webhookPort}`,
    `--metrics-port=${metricsPort}`,
    `--health-port=${healthPort}`,
    '--webhook-bind-address=127.0.0.1',
    `--external-url=${receiverUrl}`,
    // One replica: leader election would only add a Lease renewal every 2 s.
    '--leader-elect=false',
    '--log-level=info',
    ...(opts.extraArgs ?? []),
  ];
  const log = openSync(opts.logFile, 'a');
  const child = track(spawn(node, args, { cwd: repoRoot, env: { ...process.env, KUBECONFIG: opts.kubeconfig }, stdio: ['ignore', log, log] }));
  closeSync(log);
  const healthUrl = `http://127.0.0.1:${healthPort}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the operator exited with ${child.exitCode}; see ${opts.logFile}`);
    try {
      const res = await fetch(`${healthUrl}/readyz`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`the operator was not ready in time; see ${opts.logFile}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid!;
  return {
    pid,
    components: opts.components,
    receiverUrl,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    healthUrl,
    logFile: opts.logFile,
    memory: () => processMemory(pid),
    cpuSeconds: () => processCpuSeconds(pid),
    heap: async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
      return { usedMiB: value('nodejs_heap_size_used_bytes'), totalMiB: value('nodejs_heap_size_total_bytes') };
    },
    stop: () => stopChild(child, 30_000),
  };
}
