#!/usr/bin/env node
// `make dev`: one command from a clone to a running operator with a sample trigger. It starts a real
// control plane with a node that runs the pipelines' Pods (or uses $KUBECONFIG's cluster), installs
// the CRDs and the samples, runs the operator in this process, and prints ready-to-paste commands.
// Ctrl-C or SIGTERM stops everything. A machine that cannot run containers (no root, no overlayfs)
// gets everything but the node, and one line saying why.
//
// Environment:
//   PLANASONIX_DEV_DIR                  where kubeconfig, env and the cluster's data go (default .dev)
//   PLANASONIX_DEV_WEBHOOK_PORT         receiver port (default 8080; 0 or a busy port: a free one)
//   PLANASONIX_DEV_METRICS_PORT         metrics port (default 9090; likewise)
//   PLANASONIX_DEV_HEALTH_PORT          health port (default 8081; likewise)
//   PLANASONIX_DEV_LOG_FORMAT=json      raw JSON log lines instead of the condensed one-line format
//   PLANASONIX_USE_EXISTING_CLUSTER=true  with KUBECONFIG: use that cluster instead of starting one
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import type { V1Secret } from '@kubernetes/client-node';
import type { WebhookTrigger } from '../src/api/types.ts';
import { parseConfig, ConfigError, type Config } from '../src/config/config.ts';
import { KubeClient } from '../src/kube/client.ts';
import { isAlreadyExists } from '../src/kube/errors.ts';
import { RESOURCES } from '../src/kube/resources.ts';
import { createLogger } from '../src/observability/logger.ts';
import { startOperator, type RunningOperator } from '../src/operator/operator.ts';
import { loadTriggerCredentials, renderCurl, signDelivery, singleQuote } from '../src/cli/trigger-credentials.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NAMESPACE = 'planasonix-dev';
const TRIGGER = 'export-completed';
const PAYLOAD = 'deploy/examples/export-completed-payload.json';
const BIND = '127.0.0.1'; // a development receiver has no business on other interfaces

const env = process.env;
const devDir = path.resolve(env.PLANASONIX_DEV_DIR || path.join(repoRoot, '.dev'));
/** How to name a file of devDir in printed commands: relative when it is the default .dev. */
const shown = (file: string) => (path.dirname(file) === path.join(repoRoot, '.dev') ? path.relative(repoRoot, file) : file);

let stopping = false;

/** Progress lines; once stopping, the interrupted startup's own messages (and failures) are noise. */
function say(line: string, opts: { evenWhenStopping?: boolean } = {}): void {
  if (stopping && !opts.evenWhenStopping) return;
  process.stdout.write(`planasonix dev: ${line}\n`);
}

// ------------------------------------------------------------------ stopping

/** Undo steps, run last-first on exit, so the operator stops before the cluster it talks to. */
const cleanups: { name: string; run: () => Promise<void> }[] = [];

async function shutdown(code: number, why: string): Promise<never> {
  if (!stopping) {
    say(`stopping (${why})`);
    stopping = true;
    for (const step of cleanups.reverse()) {
      try {
        await step.run();
      } catch (e) {
        say(`stopping ${step.name} failed: ${(e as Error).message}`, { evenWhenStopping: true });
      }
    }
    say('stopped', { evenWhenStopping: true });
    process.exit(code);
  }
  return new Promise<never>(() => {});
}

let controlPlaneChild: ChildProcess | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) {
      // A second Ctrl-C: do not wait any longer. The control plane's children die with it (Pdeathsig).
      controlPlaneChild?.kill('SIGKILL');
      process.exit(130);
    }
    void shutdown(0, signal);
  });
}

// ------------------------------------------------------------------ the control plane

interface Cluster {
  /** The kubeconfig's content, written to .dev/kubeconfig. */
  kubeconfigText: string;
  server: string;
  kubectl: string;
  /** True when kubectl is not on the user's PATH, so .dev/env must add its directory. */
  addToPath: boolean;
  /** True when this process started the cluster, and so stops it. */
  owned: boolean;
  /** The local node that runs Pods, when this process started one. */
  node?: { name: string; images: { busybox: string } };
  /** Why the local cluster has no node. */
  nodeError?: string;
}

function runCaptured(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; inheritStderr?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: repoRoot, env: opts.env ?? env, stdio: ['ignore', 'pipe', opts.inheritStderr ? 'inherit' : 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(file)} ${args.join(' ')} exited with ${code}: ${err.trim()}`))));
  });
}

/** Builds the control plane once (build.sh prints the time a first build takes) and returns its path. */
async function buildControlPlane(): Promise<string> {
  const started = Date.now();
  const binary = (await runCaptured(path.join(repoRoot, 'tools/controlplane/build.sh'), [], { inheritStderr: true })).trim();
  const seconds = Math.round((Date.now() - started) / 1000);
  if (seconds >= 5) say(`the control plane build took ${seconds}s; later runs use the cached binary`);
  return binary;
}

/** Builds the node's runtime (containerd, CNI plugins, pause) once; its directory, or why there is none. */
async function buildNodeRuntime(): Promise<{ bin?: string; error?: string }> {
  const started = Date.now();
  try {
    const bin = (await runCaptured(path.join(repoRoot, 'tools/node-runtime/build.sh'), [], { inheritStderr: true })).trim();
    const seconds = Math.round((Date.now() - started) / 1000);
    if (seconds >= 5) say(`the node runtime build took ${seconds}s; later runs use the cached binaries`);
    return { bin };
  } catch (e) {
    return { error: `the node runtime did not build (${(e as Error).message.split('\n')[0]})` };
  }
}

async function startLocalCluster(): Promise<Cluster> {
  const binary = await buildControlPlane();
  const runtime = await buildNodeRuntime();
  const dataDir = path.join(devDir, 'cluster');
  mkdirSync(dataDir, { recursive: true });
  say(`starting the control plane and a node (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd, kubelet; logs in ${shown(dataDir)})`);
  // --node=auto: where this machine cannot run containers, the rest starts and the ready line says why.
  const args = ['up', '--dir', dataDir, ...(runtime.bin ? ['--node=auto', `--node-bin=${runtime.bin}`] : [])];
  // Its own process group: a Ctrl-C reaches only us, and we stop the operator before the cluster.
  // EOF on its stdin also stops it, so it cannot outlive this process even after a SIGKILL.
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
  controlPlaneChild = child;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push({
    name: 'the control plane',
    run: async () => {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    void exited.then((code) => reject(new Error(`the control plane exited with code ${code} before it was ready; see ${path.join(dataDir, 'apiserver.log')}`)));
  });
  // Later lines answer fault-injection commands, which dev never sends; keep the pipe drained anyway.
  lines.on('line', () => {});
  const ready = JSON.parse(first) as { kubeconfig: string; server: string; node?: { name?: string; images?: { busybox: string }; error?: string; startSeconds?: number } };
  const node = ready.node?.name && ready.node.images ? { name: ready.node.name, images: ready.node.images } : undefined;
  if (node) say(`node ${node.name} is Ready (${Math.round(ready.node!.startSeconds ?? 0)}s); pipelines run there in the locally imported image ${node.images.busybox}`);
  const nodeError = node ? undefined : (runtime.error ?? ready.node?.error ?? 'no node was started');
  return {
    kubeconfigText: readFileSync(ready.kubeconfig, 'utf8'),
    server: ready.server,
    kubectl: path.join(path.dirname(binary), 'kubectl'),
    addToPath: true,
    owned: true,
    ...(node ? { node } : {}),
    ...(nodeError ? { nodeError } : {}),
  };
}

async function useExistingCluster(): Promise<Cluster> {
  if (!env.KUBECONFIG) throw new Error('PLANASONIX_USE_EXISTING_CLUSTER=true needs KUBECONFIG');
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const server = kc.getCurrentCluster()?.server ?? '';
  const onPath = await findOnPath('kubectl');
  const kubectl = env.KUBECTL ?? onPath ?? path.join(path.dirname(await buildControlPlane()), 'kubectl');
  say(`using the existing cluster ${server} (context ${kc.getCurrentContext()})`);
  // One file, whatever KUBECONFIG lists, so that .dev/env can point at it like at our own cluster.
  return { kubeconfigText: kc.exportConfig(), server, kubectl, addToPath: kubectl !== onPath && path.isAbsolute(kubectl), owned: false };
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

function kubectl(cluster: Cluster, kubeconfig: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cluster.kubectl, args, { cwd: repoRoot, env: { ...env, KUBECONFIG: kubeconfig } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

async function installSamples(cluster: Cluster, kubeconfig: string, client: KubeClient): Promise<void> {
  await kubectl(cluster, kubeconfig, ['apply', '--server-side', '--force-conflicts', '-f', 'crds']);
  await kubectl(cluster, kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', '-f', 'crds']);
  say('CRDs installed and Established');
  try {
    await client.create(RESOURCES.namespaces, { metadata: { name: NAMESPACE } });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
  // The local node cannot pull ghcr.io/example/export-loader: its overlay runs the imported busybox.
  const samples = cluster.node ? 'deploy/examples-local' : 'deploy/examples';
  await kubectl(cluster, kubeconfig, ['apply', '--server-side', '--force-conflicts', '-n', NAMESPACE, '-k', samples]);
  say(`applied ${samples} (Pipeline export-loader, WebhookTrigger ${TRIGGER}) in namespace ${NAMESPACE}`);
}

// ------------------------------------------------------------------ ports and logs

/** The preferred port if it is free, else (or for 0) one the kernel picks; every pick differs. */
async function choosePorts(wanted: { name: string; port: number }[]): Promise<number[]> {
  const held: net.Server[] = [];
  const ports: number[] = [];
  try {
    for (const { name, port } of wanted) {
      let server = await tryListen(port);
      if (!server) {
        server = (await tryListen(0))!;
        say(`port ${port} is busy; the ${name} uses ${(server.address() as net.AddressInfo).port} instead`);
      }
      held.push(server);
      ports.push((server.address() as net.AddressInfo).port);
    }
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
  return ports;
}

function tryListen(port: number): Promise<net.Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' || e.code === 'EACCES' ? resolve(undefined) : reject(e)));
    server.listen(port, BIND, () => resolve(server));
  });
}

function portFrom(name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name}=${text} is not a port number (0 picks a free one)`);
  return port;
}

/** One readable line per log record: time, level, component, message, then the other fields. */
function condensedLogs(): { write(chunk: string): void } {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) {
        if (!line) continue;
        let record: Record<string, unknown>;
        try {
          record = JSON.parse(line) as Record<string, unknown>;
        } catch {
          process.stdout.write(`${line}\n`);
          continue;
        }
        const { time, level, msg, component, controller, ...rest } = record;
        const who = (controller ?? component) as string | undefined;
        const fields = Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
          .join(' ');
        const clock = typeof time === 'string' ? time.slice(11, 19) : '';
        process.stdout.write(`${clock} ${String(level).toUpperCase().padEnd(5)} ${who ? `[${who}] ` : ''}${String(msg ?? '')}${fields ? `  ${fields}` : ''}\n`);
      }
    },
  };
}

// ------------------------------------------------------------------ main

async function waitUntil<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = `: ${(e as Error).message}`;
    }
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000}s${lastError}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The operator's configuration: parseConfig with the development flags; the environment still applies. */
function devConfig(ports: { webhook: number; metrics: number; health: number }): Config {
  const flags = [
    `--external-url=http://${BIND}:${ports.webhook}`,
    `--webhook-port=${ports.webhook}`,
    `--metrics-port=${ports.metrics}`,
    `--health-port=${ports.health}`,
    `--webhook-bind-address=${BIND}`,
    '--leader-elect=false',
    // Flags override the environment: leave the level to PLANASONIX_LOG_LEVEL when it is set.
    ...(env.PLANASONIX_LOG_LEVEL ? [] : ['--log-level=info']),
  ];
  try {
    return parseConfig(flags, env);
  } catch (e) {
    throw e instanceof ConfigError ? new Error(e.message) : e;
  }
}

async function main(): Promise<void> {
  mkdirSync(devDir, { recursive: true, mode: 0o700 });
  // Checked before the cluster starts, so that a mistyped PLANASONIX_* variable fails at once.
  devConfig({ webhook: 0, metrics: 0, health: 0 });
  const wantedPorts = [
    { name: 'receiver', port: portFrom('PLANASONIX_DEV_WEBHOOK_PORT', 8080) },
    { name: 'metrics server', port: portFrom('PLANASONIX_DEV_METRICS_PORT', 9090) },
    { name: 'health server', port: portFrom('PLANASONIX_DEV_HEALTH_PORT', 8081) },
  ];

  const cluster = env.PLANASONIX_USE_EXISTING_CLUSTER === 'true' ? await useExistingCluster() : await startLocalCluster();
  if (cluster.nodeError) say(`pipelines will not run: this machine cannot run containers (${cluster.nodeError}); runs stop at JobPending, everything else works`);
  const kubeconfig = path.join(devDir, 'kubeconfig');
  writeFileSync(kubeconfig, cluster.kubeconfigText, { mode: 0o600 });
  say(`cluster ready at ${cluster.server}; kubeconfig written to ${shown(kubeconfig)}`);
  const client = KubeClient.fromDefault({ kubeconfig, timeoutMs: 10_000 });
  await installSamples(cluster, kubeconfig, client);

  // Chosen just before the operator listens, so that another process has little time to take them.
  const [webhookPort = 0, metricsPort = 0, healthPort = 0] = await choosePorts(wantedPorts);
  const config = devConfig({ webhook: webhookPort, metrics: metricsPort, health: healthPort });
  const externalUrl = config.externalUrl;
  const logger = createLogger({ level: config.logLevel, ...(env.PLANASONIX_DEV_LOG_FORMAT === 'json' ? {} : { destination: condensedLogs() }) });
  const operator: RunningOperator = await startOperator({
    config,
    client: KubeClient.fromDefault({ kubeconfig, timeoutMs: config.kubeApiTimeoutMs }),
    logger,
    identity: 'planasonix-dev',
  });
  cleanups.push({
    name: 'the operator',
    run: () => Promise.race([operator.stop(), new Promise<void>((r) => setTimeout(r, 15_000).unref())]),
  });
  const receiverUrl = operator.receiverUrl ?? externalUrl;
  const metricsUrl = `${operator.opsUrl}/metrics`;

  // Ready means a delivery sent now is accepted: the trigger is Ready, its URL is this run's, and
  // the receiver's routing table has it.
  const webhookPath = await waitUntil(`WebhookTrigger ${NAMESPACE}/${TRIGGER} becoming Ready`, 60_000, async () => {
    const t = await client.get<WebhookTrigger>(RESOURCES.webhookTriggers, NAMESPACE, TRIGGER);
    if (!t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return undefined;
    const secret = await client.get<V1Secret>(RESOURCES.secrets, NAMESPACE, `${TRIGGER}-webhook`);
    const url = Buffer.from(secret.data?.url ?? '', 'base64').toString('utf8');
    const p = Buffer.from(secret.data?.path ?? '', 'base64').toString('utf8');
    if (!url.startsWith(`${externalUrl}/`)) return undefined;
    return operator.routes?.lookup(p)?.state === 'serving' ? p : undefined;
  });

  const kubectlDir = path.dirname(cluster.kubectl);
  const envFile = path.join(devDir, 'env');
  writeFileSync(
    envFile,
    [
      '# Written by make dev (tools/dev.ts): source it in another terminal.',
      `export KUBECONFIG=${singleQuote(kubeconfig)}`,
      `export RECEIVER_URL=${singleQuote(receiverUrl)}`,
      `export METRICS_URL=${singleQuote(metricsUrl)}`,
      // bin/planasonix runs the CLI on the project's Node.js 24, whatever node the shell has.
      `export PATH=${singleQuote(path.join(repoRoot, 'bin'))}:"$PATH"`,
      ...(cluster.addToPath ? [`export PATH=${singleQuote(kubectlDir)}:"$PATH"`] : []),
      '',
    ].join('\n'),
    { mode: 0o600 },
  );

  const creds = await loadTriggerCredentials(client, NAMESPACE, TRIGGER, receiverUrl);
  const curl = renderCurl(signDelivery(creds, readFileSync(path.join(repoRoot, PAYLOAD)), {}), creds, PAYLOAD);
  const send = `planasonix send --trigger ${TRIGGER} -n ${NAMESPACE} --data ${PAYLOAD} --url-override ${receiverUrl}`;
  if (stopping) return;
  process.stdout.write(
    [
      '',
      `planasonix dev: ready. The operator runs in this terminal; Ctrl-C stops it${cluster.owned ? ' and the control plane' : ''}.`,
      '',
      `  Webhook URL of ${NAMESPACE}/${TRIGGER} (a credential, like its signing secret):`,
      `    ${receiverUrl}${webhookPath}`,
      `  Receiver ${receiverUrl}   Metrics ${metricsUrl}`,
      '',
      '  In another terminal, in this directory:',
      `    source ${shown(envFile)}`,
      `    ${send}`,
      `    ${curl}`,
      `    kubectl get webhooktriggers,pipelineruns.planasonix.io -n ${NAMESPACE}`,
      '',
      `  The curl line's signature expires after ${creds.tolerance}; 'planasonix sign --trigger ${TRIGGER} -n ${NAMESPACE} --data ${PAYLOAD}' prints a fresh one.`,
      cluster.node
        ? `  Runs execute on the local node ${cluster.node.name}: add --wait to the send line to follow one to Succeeded, then 'kubectl logs -n ${NAMESPACE} job/<run>'.`
        : cluster.owned
          ? '  This cluster has no node: runs stay Pending (JobPending) once their Job exists.'
          : '',
      '',
      '',
    ].join('\n'),
  );
}

main().catch((e: unknown) => {
  say(`failed: ${e instanceof Error ? e.message : String(e)}`);
  void shutdown(1, 'startup failed');
});
