// Starts a real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) and a real
// node (kube-scheduler, containerd, a kubelet, the Job controller) once per test run, and stops
// them at the end.
//
//   default                                    build (cached) and run tools/controlplane with a node
//   PLANASONIX_TEST_NODE=off                   no node: Jobs create no Pods (the node's tests fail, saying why)
//   PLANASONIX_USE_EXISTING_CLUSTER=true       use the cluster in $KUBECONFIG instead (like USE_EXISTING_CLUSTER)
//   KUBEBUILDER_ASSETS=/path/to/bin           run envtest's prebuilt etcd and kube-apiserver (no Go build)
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEnvtestAssets } from './envtest-assets.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The local node, when the control plane runs one. */
export interface LocalNode {
  name: string;
  /** Images imported into the node's runtime: never pulled, so Pods use imagePullPolicy IfNotPresent. */
  images: { busybox: string; pause: string };
  podSubnet: string;
  startSeconds: number;
  /** Pods reach Services (kube-proxy) and the API server through the kubernetes Service, as in a cluster. */
  services: boolean;
}

export interface ControlPlane {
  kubeconfig: string;
  /** The node Pods run on; undefined when there is none (and nodeError says why, if it was asked for). */
  node?: LocalNode;
  nodeError?: string;
  server: string;
  /** Path of a kubectl binary that talks to this control plane through $KUBECONFIG. */
  kubectl: string;
  /** True when this process started the control plane and can inject faults into it. */
  owned: boolean;
  /**
   * Sends a command: the faults stop-apiserver, start-apiserver, compact, stop-kcm, start-kcm,
   * restart-node, or `import-image ARCHIVE` (an OCI archive into the node's runtime).
   */
  command(line: string): Promise<void>;
  stop(): Promise<void>;
}

/** Builds the node's runtime (containerd, CNI plugins, pause) if its cached build is missing; returns its directory. */
export function buildNodeRuntime(): string {
  const out = execFileSync(path.join(repoRoot, 'tools/node-runtime/build.sh'), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim();
}

/**
 * Builds the operator image (`make image`'s OCI archive) unless an archive of the same inputs exists,
 * and returns its path. The build's log goes into the error only if it fails: buildah and npm are chatty.
 */
export function buildImageArchive(): string {
  const built = spawnSync(path.join(repoRoot, 'tools/image/build.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (built.status !== 0) throw new Error(`tools/image/build.sh failed:\n${built.stderr.slice(-4000)}`);
  return built.stdout.trim();
}

/** Builds the control-plane binary if its cached build is missing, and returns its path. */
export function buildControlPlane(): string {
  const out = execFileSync(path.join(repoRoot, 'tools/controlplane/build.sh'), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim();
}

/**
 * services: a plane whose node routes Services (kube-proxy) and lets Pods reach the API server, for
 * an operator installed from deploy/ (one such plane per machine at a time). Always a local plane.
 */
export async function startControlPlane(opts: { services?: boolean } = {}): Promise<ControlPlane> {
  if (!opts.services && process.env.PLANASONIX_USE_EXISTING_CLUSTER === 'true') {
    const kubeconfig = process.env.KUBECONFIG;
    if (!kubeconfig) throw new Error('PLANASONIX_USE_EXISTING_CLUSTER=true needs KUBECONFIG');
    return {
      kubeconfig,
      server: '',
      kubectl: process.env.KUBECTL ?? 'kubectl',
      owned: false,
      command: async (line) => {
        throw new Error(`fault injection (${line}) needs the local control plane`);
      },
      stop: async () => {},
    };
  }
  if (!opts.services && process.env.KUBEBUILDER_ASSETS) {
    // envtest's prebuilt binaries; no Go build, and no kube-controller-manager (see envtest-assets.ts).
    return startEnvtestAssets(process.env.KUBEBUILDER_ASSETS);
  }
  const binary = buildControlPlane();
  const dir = mkdtempSync(path.join(tmpdir(), 'planasonix-test-'));
  const args = ['up', '--dir', dir];
  if (opts.services || process.env.PLANASONIX_TEST_NODE !== 'off') args.push('--node=required', `--node-bin=${buildNodeRuntime()}`);
  if (opts.services) args.push('--services');
  return superviseControlPlane(binary, args, dir);
}

export async function superviseControlPlane(binary: string, args: string[], dir: string): Promise<ControlPlane> {
  const child: ChildProcess = spawn(binary, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: Interface = createInterface({ input: child.stdout! });
  const pending: ((line: string) => void)[] = [];
  const buffered: string[] = [];
  lines.on('line', (line) => {
    const waiter = pending.shift();
    if (waiter) waiter(line);
    else buffered.push(line);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const nextLine = (timeoutMs: number) =>
    new Promise<string>((resolve, reject) => {
      const early = buffered.shift();
      if (early !== undefined) return resolve(early);
      const timer = setTimeout(() => reject(new Error(`control plane did not answer within ${timeoutMs} ms`)), timeoutMs);
      pending.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`control plane exited with code ${code}; logs are in ${dir}`));
      });
    });

  const ready = JSON.parse(await nextLine(300_000)) as {
    kubeconfig: string;
    server: string;
    node?: Partial<LocalNode> & { error?: string };
  };
  const kubectl = path.join(path.dirname(binary), 'kubectl');
  let stopped = false;
  return {
    kubeconfig: ready.kubeconfig,
    server: ready.server,
    ...(ready.node?.name ? { node: ready.node as LocalNode } : {}),
    ...(ready.node?.error ? { nodeError: ready.node.error } : {}),
    kubectl,
    owned: true,
    async command(line: string) {
      child.stdin!.write(`${line}\n`);
      const reply = JSON.parse(await nextLine(120_000)) as { ok: boolean; error?: string };
      if (!reply.ok) throw new Error(`control plane command ${line} failed: ${reply.error}`);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
